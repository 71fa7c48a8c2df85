"""What each measure means, in a language: pages ("?" next to a measure, "Om tallene"), downloads
and the catalog API.

The catalog's ``description`` (catalog/measures.yaml) is the definition in English;
``catalog/definitions_da.yaml`` holds the same definitions in Danish, one per catalog measure.
``missing_definitions`` lists every measure without one (a test keeps the list empty), so a new
measure cannot reach a Danish page or file with an English definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from koes.semantic.model import Catalog, Measure

DANISH_FILE = "definitions_da.yaml"


@cache
def danish() -> Mapping[str, str]:
    text = resources.files("koes.semantic").joinpath("catalog", DANISH_FILE).read_text(encoding="utf-8")
    raw: Any = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{DANISH_FILE} must map measure ids to Danish definitions")
    return {str(k): str(v).strip() for k, v in raw.items()}


def definition(measure: Measure, lang: str) -> str:
    """The measure's definition; in Danish from definitions_da.yaml, else the catalog's description."""
    if lang == "da":
        return danish().get(measure.id, measure.description)
    return measure.description


def missing_definitions(catalog: Catalog) -> list[str]:
    """Every catalog measure without a Danish definition, and every definition of no measure."""
    texts = danish()
    out = [f"{m}: no Danish definition" for m in catalog.measures if not texts.get(m)]
    out += [f"{d}: not a measure of the catalog" for d in texts if d not in catalog.measures]
    return out
