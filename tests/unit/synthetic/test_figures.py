"""The declared table of published figures: the shipped file, and every problem of a bad one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from koes.synthetic.figures import PERSPECTIVES, FigureError, Formula, load_figures, parse_figures


def _doc() -> dict[str, Any]:
    figures = [
        {
            "id": f"f_{p}",
            "perspective": p,
            "label": f"A figure of {p}",
            "unit": "persons",
            "published": 100,
            "source": "somewhere",
            "year": 2023,
            "status": "V",
            "synthetic": {"count": "tally"},
        }
        for p in PERSPECTIVES
    ]
    return {"national_population": 5_900_000, "tolerance": 0.1, "figures": figures}


def test_the_shipped_table_has_25_figures_over_all_seven_perspectives_each_with_source_and_year() -> None:
    figures = load_figures()
    assert len(figures) >= 25
    assert {f.perspective for f in figures} == set(PERSPECTIVES)
    assert all(f.source and 1990 <= f.year <= 2025 and f.published > 0 for f in figures)
    assert figures.national_population == 5_900_000


def test_every_benefit_group_of_dream_has_its_own_figure() -> None:
    from koes.domain.codelists import BENEFIT_TYPE

    ids = {f.id for f in load_figures()}
    counted = {t for t in BENEFIT_TYPE.values if t != "folkepension"}  # everyone from 67: no figure needed
    assert {f"benefit_{t}" for t in counted} <= ids


def test_a_good_document_parses_with_defaults() -> None:
    figures = parse_figures(_doc())
    first = figures.figures[0]
    assert (first.tolerance, first.expected_ratio, first.reason) == (0.1, 1.0, None)
    assert first.synthetic.formula is Formula.COUNT and first.synthetic.numerator == ("tally",)


def test_share_and_ratio_take_lists_of_tallies() -> None:
    doc = _doc()
    doc["figures"][0]["synthetic"] = {"share": ["a", ["b", "c"]]}
    s = parse_figures(doc).figures[0].synthetic
    assert (s.formula, s.numerator, s.denominator) == (Formula.SHARE, ("a",), ("b", "c"))


def test_every_problem_is_reported_at_once_with_its_figure() -> None:
    doc = copy.deepcopy(_doc())
    doc["figures"][0]["perspective"] = "tandpleje"
    del doc["figures"][1]["source"]
    doc["figures"][2]["reason"] = "because"
    doc["figures"][3]["synthetic"] = {"median": "x"}
    doc["figures"][5]["published"] = -1
    doc["figures"][6]["id"] = "f_pleje"
    with pytest.raises(FigureError) as caught:
        parse_figures(doc)
    problems = caught.value.problems
    assert len(problems) == 6, problems
    assert "figure 1 (f_somatik): perspective must be one of" in problems[0]
    assert problems[1] == "figure 2 (f_psykiatri): source is missing"
    assert "figure 3 (f_sygesikring): reason and expected_ratio go together" in problems[2]
    assert "figure 4 (f_medicin): synthetic 'median' is not one of" in problems[3]
    assert problems[4] == "figure 6 (f_beskaeftigelse): published must be a positive number"
    assert problems[5] == "figure 7 (f_pleje): id 'f_pleje' is used twice"


def test_a_missing_perspective_is_a_problem() -> None:
    doc = _doc()
    doc["figures"] = [f for f in doc["figures"] if f["perspective"] != "pleje"]
    with pytest.raises(FigureError, match="no figure for the perspective"):
        parse_figures(doc)
