"""Standard reports as data: the shipped file, the loader's problems, choices and view requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from koes.query.request import RequestError, parse_request
from koes.reports.loader import default_reports, read_reports
from koes.reports.requests import ReportChoices, resolve, view_requests
from koes.semantic.loader import default_catalog

YEARS = (2022, 2023, 2024)
MUNICIPALITIES = (101, 147, 751)


def test_the_shipped_reports_cover_the_standard_subjects() -> None:
    book = default_reports()
    assert len(book.reports) >= 10
    assert {"noegletal", "medfinansiering", "forebyggelige", "genindlaeggelser", "faerdigbehandlede", "praksis",
            "medicin", "aeldre", "kroniske", "boern_unge"} <= set(book.reports)  # fmt: skip


@pytest.mark.parametrize("report_id", list(default_reports().reports))
def test_every_view_of_every_variant_is_a_valid_analysis_request(report_id: str) -> None:
    catalog = default_catalog()
    report = default_reports().reports[report_id]
    for variant in report.variants:
        chosen = resolve(report, ReportChoices(variant=variant.id), catalog, YEARS, MUNICIPALITIES, 751)
        for name, raw in view_requests(report, chosen, YEARS).items():
            request = parse_request(raw, catalog)
            assert request.perspective == variant.perspective, name


def test_the_loader_reports_every_problem_with_its_element(tmp_path: Path) -> None:
    path = tmp_path / "reports.yaml"
    path.write_text(
        """
reports:
  - id: a
    title: {da: A}
    description: {da: A, en: A}
    series: {kind: weekly, grain: uge}
    variants:
      - id: v
        label: {da: V, en: V}
        perspective: somatik
        measures: [indlaeggelser, recepter, nope]
        standardised: {indlaeggelser: indlaeggelser}
        filters: {kommune: [101]}
        breakdown: maaned
      - id: v
        label: {da: V, en: V}
        perspective: astrologi
        measures: [indlaeggelser]
  - id: a
    title: {da: A, en: A}
    description: {da: A, en: A}
    variants: []
""",
        encoding="utf-8",
    )
    _, problems = read_reports(path, default_catalog())
    text = [str(p) for p in problems]
    expected = [
        "report 'a': title needs Danish and English",
        "report 'a': series.kind must be one of",
        "report 'a': series.grain must be one of",
        "report 'a' variant 'v': measure 'recepter' is not in perspective 'somatik'",
        "report 'a' variant 'v': unknown measure 'nope'",
        "report 'a' variant 'v': standardised: 'indlaeggelser' is not a standardised rate",
        "report 'a' variant 'v': filters: 'kommune' is chosen on the page",
        "report 'a' variant 'v': breakdown: 'maaned' is not a dimension a report can split by",
        "report 'a' variant 'v': unknown perspective 'astrologi'",
        "report 'a' variant 'v': the id is used twice",
        "report 'a': the id is used twice",
        "report 'a': variants: a non-empty list is needed",
        "report 'a': choice_label needs Danish and English",
    ]
    for fragment in expected:
        assert any(fragment in t for t in text), f"missing: {fragment}\n" + "\n".join(text)
    assert all(t.startswith("reports.yaml: ") for t in text)


def test_defaults_are_the_latest_year_the_home_municipality_and_the_headline() -> None:
    report = default_reports().reports["noegletal"]
    chosen = resolve(report, ReportChoices(), default_catalog(), YEARS, MUNICIPALITIES, 751)
    assert (chosen.year, chosen.municipality, chosen.variant.id, chosen.measure) == (
        2024,
        751,
        "somatik",
        "indlaeggelser_pr_1000",
    )
    national = resolve(report, ReportChoices(), default_catalog(), YEARS, MUNICIPALITIES, None)
    assert national.municipality == 101


def test_bad_choices_are_named_by_their_parameter_all_at_once() -> None:
    report = default_reports().reports["noegletal"]
    bad = ReportChoices(
        year=1999, municipality=999, sex=3, age="200+", variant="x", measure="recepter", geography="sidste år"
    )
    with pytest.raises(RequestError) as caught:
        resolve(report, bad, default_catalog(), YEARS, MUNICIPALITIES, 101)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"year", "municipality", "sex", "age", "variant", "measure", "geography"}


@pytest.mark.parametrize(("choice", "sent"), [("as_it_was", "as_it_was"), ("2027-01-01", {"as_of": "2027-01-01"})])
def test_every_view_reads_regions_the_way_the_user_chose(choice: str, sent: object) -> None:
    """The region in the comparison, the trend and the map outlines follows the page's "Regioner"
    choice; without one the views are the requests they always were (same cache keys)."""
    catalog = default_catalog()
    for report in default_reports().reports.values():
        chosen = resolve(report, ReportChoices(geography=choice), catalog, YEARS, MUNICIPALITIES, 101)
        assert chosen.to_json()["geography"] == choice
        for name, raw in view_requests(report, chosen, YEARS).items():
            assert raw["geography"] == sent, (report.id, name)
            parse_request(raw, catalog)
        default = resolve(report, ReportChoices(), catalog, YEARS, MUNICIPALITIES, 101)
        assert not any("geography" in raw for raw in view_requests(report, default, YEARS).values())


def test_the_comparison_uses_the_standardised_twin_and_year_to_date_spans_two_years() -> None:
    catalog = default_catalog()
    book = default_reports()
    key = resolve(book.reports["noegletal"], ReportChoices(year=2023), catalog, YEARS, MUNICIPALITIES, 101)
    views = view_requests(book.reports["noegletal"], key, YEARS)
    assert views["comparison"]["measures"] == ["indlaeggelser_std"]
    assert views["comparison"]["comparison"] == {"municipality": 101}
    assert views["table"]["rows"] == ["kommune"] and views["table"]["period"] == {"from": "2023", "to": "2023"}
    money = resolve(
        book.reports["medfinansiering"], ReportChoices(year=2023, sex=2), catalog, YEARS, MUNICIPALITIES, 751
    )
    series = view_requests(book.reports["medfinansiering"], money, YEARS)["series"]
    assert series["period"] == {"from": "2022", "to": "2023"} and series["filters"]["kommune"] == [751]
    assert series["filters"]["koen"] == [2]


@pytest.mark.parametrize("report_id", list(default_reports().reports))
def test_areas_are_never_compared_by_a_total_in_kroner(report_id: str) -> None:
    """Issue 18 item 4: the comparison set København's 17 M beside the country's 162 M. Wherever
    areas stand against each other (comparison, trend, breakdown), an amount is per citizen."""
    catalog = default_catalog()
    report = default_reports().reports[report_id]
    for variant in report.variants:
        for measure in variant.measures:
            chosen = resolve(
                report, ReportChoices(variant=variant.id, measure=measure), catalog, YEARS, MUNICIPALITIES, 101
            )
            for name, raw in view_requests(report, chosen, YEARS).items():
                if "comparison" not in raw:
                    continue
                for m in raw["measures"]:
                    assert catalog.measures[m].unit.value != "kr", (report_id, variant.id, measure, name, m)
                parse_request(raw, catalog)  # still a valid request
