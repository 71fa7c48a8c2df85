"""What each measure means, in the page's language: the "?" next to a measure and the "Om tallene" panel.

The catalog's ``description`` (koes/semantic/catalog/measures.yaml) is the definition in English;
``definitions.yaml`` holds the same definitions in Danish, one per catalog measure.
``missing_definitions`` lists every measure without one (a test keeps the list empty), so a new
measure cannot reach a Danish page with an English definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from koes.semantic.model import Catalog, Measure


@cache
def danish() -> Mapping[str, str]:
    raw: Any = yaml.safe_load(resources.files("koes.web").joinpath("definitions.yaml").read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("definitions.yaml must map measure ids to Danish definitions")
    return {str(k): str(v).strip() for k, v in raw.items()}


def definition(measure: Measure, lang: str) -> str:
    """The measure's definition; in Danish from definitions.yaml, else the catalog's description."""
    if lang == "da":
        return danish().get(measure.id, measure.description)
    return measure.description


def missing_definitions(catalog: Catalog) -> list[str]:
    """Every catalog measure without a Danish definition, and every definition of no measure."""
    texts = danish()
    out = [f"{m}: no Danish definition" for m in catalog.measures if not texts.get(m)]
    out += [f"{d}: not a measure of the catalog" for d in texts if d not in catalog.measures]
    return out
