"""What the Standard and Analysis pages draw from a protected result: charts (data for charts.js),
the table behind each, and the provenance stamp with its suppression note."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from koes.services.results import AnalysisResult
from koes.web import views
from koes.web.formats import moment


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    data: str  # JSON for charts.js (in a <script type="application/json">: data, not script)
    table: views.Table


def chart(chart_id: str, title: str, data: dict[str, Any], result: AnalysisResult, lang: str) -> Chart:
    data = {**data, "title": title, "separators": ",." if lang == "da" else ".,"}
    # "</" cannot end the script element early: JSON is written with "<" escaped.
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return Chart(chart_id, title, text, views.table(result, lang, downloadable_only=False))


def provenance(results: list[AnalysisResult], lang: str) -> dict[str, Any]:
    """The footer of a page built from ``results`` (the first one's release and rule)."""
    stamp = results[0].provenance
    shown = stamp.to_json(lang)
    if shown.get("generated_at"):
        shown["generated_at"] = moment(shown["generated_at"], lang)  # Danish time, not UTC
    return {
        "provenance": shown,
        "suppression_note": stamp.note(lang),
        "suppression_rule": stamp.suppression_description(lang),
        "cells_suppressed": sum(r.cells_suppressed for r in results),
    }
