"""What the Standard and Analysis pages draw from a protected result: charts (data for charts.js),
the table behind each, and the provenance stamp with its suppression note."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from koes.services.disclosure import Exactness
from koes.services.results import AnalysisResult
from koes.web import views
from koes.web.formats import moment
from koes.web.i18n import Translator


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    data: str  # JSON for charts.js (in a <script type="application/json">: data, not script)
    table: views.Table
    exact: str = Exactness.NONE.value  # which of its figures are exact: none, some, all
    exactness: str = ""  # the same in words, shown with the figure


def exactness(result: AnalysisResult, lang: str) -> tuple[str, str]:
    """Whether a figure's numbers are exact (individual-level rights over the user's own citizens)
    or protected by disclosure control, as a code and in words: every figure says which (issue 18 item 7)."""
    kind = Exactness.of(result.blocks)
    return kind.value, Translator(lang)(f"figure.exact_{kind.value}")


def chart(chart_id: str, title: str, data: dict[str, Any], result: AnalysisResult, lang: str) -> Chart:
    data = {**data, "title": title, "separators": ",." if lang == "da" else ".,"}
    # "</" cannot end the script element early: JSON is written with "<" escaped.
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return Chart(chart_id, title, text, views.table(result, lang, downloadable_only=False), *exactness(result, lang))


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
        # drawn under a chart or map saved as PNG, so the image keeps its source after it leaves KØS
        "png_stamp": Translator(lang)(
            "png.stamp",
            release=stamp.release_id,
            rule=stamp.suppression_rule,
            at=shown.get("generated_at") or "",
        ),
    }
