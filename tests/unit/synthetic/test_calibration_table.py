"""From yearly tallies to the published-figure table, on hand-made tallies and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from koes.synthetic.calibration import END_MARK, START_MARK, calibration_table, render_markdown, write_into
from koes.synthetic.figures import PERSPECTIVES, FigureSet, parse_figures
from koes.synthetic.tally import Tally


def _figures(synthetic: dict[str, Any], published: float = 100.0, **extra: Any) -> FigureSet:
    figures = [
        {
            "id": p,
            "perspective": p,
            "label": f"Figure {p}",
            "unit": "persons",
            "published": published,
            "source": "a source",
            "year": 2023,
            "status": "V",
            "synthetic": synthetic,
            **extra,
        }
        for p in PERSPECTIVES
    ]
    return parse_figures({"national_population": 1000, "tolerance": 0.1, "figures": figures})


def _tally(**rows: tuple[float, float]) -> Tally:
    tally = Tally((2022, 2023))
    for name, (first, second) in rows.items():
        tally.put(name, 2022, first)
        tally.put(name, 2023, second)
    return tally


def test_a_count_is_the_mean_yearly_count_scaled_to_the_national_population() -> None:
    # 10 of 100 person-years, then 30 of 200: 100 and 150 per 1,000 citizens, mean 125.
    tally = _tally(person_years=(100, 200), cases=(10, 30))
    row = calibration_table(_figures({"count": "cases"}), tally)[0]
    assert row.synthetic == pytest.approx(125.0)
    assert row.ratio == pytest.approx(1.25)
    assert not row.calibrated


def test_shares_and_ratios_sum_over_the_years_before_dividing() -> None:
    tally = _tally(person_years=(1, 1), users=(9, 1), residents=(10, 90))
    share = calibration_table(_figures({"share": ["users", "residents"]}, published=10), tally)[0]
    ratio = calibration_table(_figures({"ratio": ["users", ["residents", "users"]]}, published=0.1), tally)[0]
    assert share.synthetic == pytest.approx(10.0)  # 10 of 100, not the mean of 90 % and 1.1 %
    assert ratio.synthetic == pytest.approx(10 / 110)


def test_growth_is_the_yearly_change_factor_and_needs_two_years() -> None:
    tally = _tally(person_years=(1, 1), recipients=(100, 81))
    growth = calibration_table(_figures({"growth": "recipients"}, published=1.0), tally)[0]
    assert growth.synthetic == pytest.approx(0.81)
    one_year = Tally((2023,))
    one_year.put("person_years", 2023, 1)
    one_year.put("recipients", 2023, 5)
    assert calibration_table(_figures({"growth": "recipients"}, published=1.0), one_year)[0].synthetic is None


def test_a_ratio_away_from_1_is_calibrated_only_with_its_reason() -> None:
    tally = _tally(person_years=(100, 100), cases=(8, 8))
    figures = _figures({"count": "cases"}, reason="counts fewer benefits", expected_ratio=0.8)
    row = calibration_table(figures, tally)[0]
    assert row.ratio == pytest.approx(0.8) and row.calibrated


def test_a_figure_naming_an_unknown_tally_is_refused_with_all_names() -> None:
    with pytest.raises(KeyError, match="cases, more_cases"):
        calibration_table(_figures({"share": ["cases", "more_cases"]}), _tally(person_years=(1, 1)))


def test_the_markdown_table_marks_what_is_off_and_footnotes_reasons() -> None:
    tally = _tally(person_years=(100, 100), cases=(10, 10))
    rows = calibration_table(_figures({"count": "cases"}), tally)  # ratio 1.00
    off = calibration_table(_figures({"count": "cases"}, published=50), tally)  # ratio 2.00
    reasoned = calibration_table(_figures({"count": "cases"}, published=50, reason="why", expected_ratio=2), tally)
    assert "| 1.00 |" in render_markdown(rows)
    assert "| **2.00** |" in render_markdown(off)
    text = render_markdown(reasoned)
    assert "| 2.00 |" in text and "[1]" in text and "1. Figure somatik: why" in text
    assert text.count("| Figure ") == len(PERSPECTIVES)


def test_the_table_replaces_what_is_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\n{START_MARK}\nold table\n{END_MARK}\n\nAfter.\n", encoding="utf-8")
    write_into(doc, "| new |\n")
    assert doc.read_text(encoding="utf-8") == f"# Title\n\n{START_MARK}\n| new |\n{END_MARK}\n\nAfter.\n"
    doc.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no calibration table markers"):
        write_into(doc, "| new |\n")
