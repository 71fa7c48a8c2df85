"""The catalog as JSON: what a user can ask for, in one language, for the API, the CLI and pages.

Perspectives carry their measures; dimensions carry their members (the values a filter takes,
with labels); segments are listed on their own because they work with every perspective. Period
members (years, quarters, months) come from the current release, so the catalog shows what can
be asked of the data actually loaded. Every measure and dimension says whether it is
``downloadable``: view-only elements may be shown but never exported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from koes.semantic.definitions import definition
from koes.semantic.members import OPEN_KINDS, members
from koes.semantic.model import Catalog, Dimension, Measure
from koes.services.analysis import AnalysisService, NoReleaseError

LANGUAGES = ("da", "en")


def catalog_json(catalog: Catalog, years: Sequence[int], language: str = "da") -> dict[str, Any]:
    """The catalog in ``language``; ``years`` are the release's years (period members)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    return {
        "language": language,
        "years": list(years),
        "perspectives": [
            {
                "id": p.id,
                "label": p.label.get(language),
                "description": p.description,
                "default_measures": list(p.default_measures),
                "measures": [measure_json(m, language) for m in catalog.measures_of(p.id)],
            }
            for p in catalog.perspectives.values()
        ],
        "dimensions": [dimension_json(d, years, language) for d in catalog.dimensions.values()],
        "segments": [
            {"id": s.id, "label": s.label.get(language), "description": s.description}
            for s in catalog.segments.values()
        ],
    }


def service_catalog(service: AnalysisService, language: str = "da") -> dict[str, Any]:
    """The catalog of the service's current release; without a release, period members are empty."""
    try:
        release: str | None = service.release_id()
        years: tuple[int, ...] = service.years()
    except NoReleaseError:
        release, years = None, ()
    return {"release": release, **catalog_json(service.catalog, years, language)}


def measure_json(measure: Measure, language: str) -> dict[str, Any]:
    return {
        "id": measure.id,
        "label": measure.label.get(language),
        "description": definition(measure, language),
        "unit": measure.unit.value,
        "decimals": measure.decimals,
        "kind": measure.derived.value if measure.derived is not None else "base",
        "downloadable": measure.downloadable,
    }


def dimension_json(dimension: Dimension, years: Sequence[int], language: str) -> dict[str, Any]:
    known = members(dimension, years)
    return {
        "id": dimension.id,
        "label": dimension.label.get(language),
        "description": dimension.description,
        "group": dimension.group,
        "value_type": dimension.value_type,
        "downloadable": dimension.downloadable,
        # An open dimension (members found in the data, e.g. care districts) lists none here.
        "open": dimension.members.kind in OPEN_KINDS,  # the release's or a cohort's members
        "members": [{"value": m.value, "label": m.label.get(language)} for m in known],
    }
