"""Requests are checked field by field; every problem names its field."""

from __future__ import annotations

from typing import Any

import pytest

from koes.query.request import Period, RequestError, parse_request
from koes.semantic.model import Catalog

GOOD: dict[str, Any] = {
    "perspective": "somatik",
    "measures": ["indlaeggelser"],
    "rows": ["kommune"],
    "columns": ["aar"],
    "filters": {"aldersgruppe": ["85+", "75-84"], "koen": ["2"]},
    "period": {"from": "2023", "to": "2024"},
}


def problems(raw: object, catalog: Catalog) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        parse_request(raw, catalog)
    return {p.field: p.message for p in caught.value.problems}


def test_a_good_request_is_typed_and_canonical(catalog: Catalog) -> None:
    request = parse_request(GOOD, catalog)
    assert request.filter_values("koen") == (2,)
    assert request.filter_values("aldersgruppe") == ("75-84", "85+")
    assert request.period == Period(202301, 202412)
    reordered = {**GOOD, "filters": {"koen": [2], "aldersgruppe": ["75-84", "85+"]}}
    assert parse_request(reordered, catalog).canonical() == request.canonical()


def test_every_problem_is_reported_with_its_field(catalog: Catalog) -> None:
    found = problems(
        {
            "perspective": "somatik",
            "measures": ["indlaeggelser", "recepter", "nonsense"],
            "rows": ["kommune", "planet"],
            "columns": ["kommune"],
            "filters": {"koen": ["x"], "farve": ["blå"], "prioritet": ["maybe"]},
            "segment": "astronauts",
            "period": {"from": "2023-13"},
            "colour": "red",
        },
        catalog,
    )
    assert set(found) == {
        "measures[1]",
        "measures[2]",
        "rows[1]",
        "columns",
        "filters.koen[0]",
        "filters.farve",
        "filters.prioritet[0]",
        "segment",
        "period.from",
        "colour",
    }
    assert "not in perspective 'somatik'" in found["measures[1]"]
    assert "unknown dimension 'planet'" in found["rows[1]"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "request"),
        ({**GOOD, "perspective": "astrologi"}, "perspective"),
        ({**GOOD, "measures": []}, "measures"),
        ({**GOOD, "period": {"from": "2024", "to": "2023"}}, "period"),
        ({**GOOD, "comparison": "yes"}, "comparison"),
        ({**GOOD, "comparison": True}, "comparison"),  # kommune is in the rows
        ({**GOOD, "measures": ["indlaeggelser", "indlaeggelser"]}, "measures[1]"),
    ],
)
def test_bad_fields(raw: object, field: str, catalog: Catalog) -> None:
    assert field in problems(raw, catalog)


def test_months_and_years_make_periods(catalog: Catalog) -> None:
    request = parse_request({**GOOD, "period": {"from": "2023-03", "to": "2023-08"}}, catalog)
    assert request.period == Period(202303, 202308)
    assert not request.period.whole_years
    assert str(request.period) == "2023-03–2023-08"
    assert request.to_json()["period"] == {"from": "2023-03", "to": "2023-08"}


def test_a_cpr_number_sent_as_a_value_is_never_echoed(catalog: Catalog) -> None:
    found = problems({**GOOD, "filters": {"koen": ["010180-1234"]}, "segment": "0101801234"}, catalog)
    assert "010180-1234" not in str(found) and "0101801234" not in str(found)
    assert "XXXXXX-XXXX" in found["filters.koen[0]"] and "XXXXXX-XXXX" in found["segment"]
