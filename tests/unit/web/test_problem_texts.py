"""The Analysis builder's problems in the page's language (issue 18 item 2: Danish mode showed
"unknown dimension 'atc_hovedgruppe'")."""

from __future__ import annotations

import pytest

from koes.query.request import FieldProblem, RequestError, parse_request
from koes.semantic.loader import default_catalog
from koes.web.pages.analyse import problem_text

ENGLISH = ("unknown", "dimension", "measure", "listed twice", "expected", "is not")


def problems_of(raw: dict[str, object]) -> list[FieldProblem]:
    with pytest.raises(RequestError) as caught:
        parse_request(raw, default_catalog())
    return list(caught.value.problems)


@pytest.mark.parametrize(
    "raw",
    [
        {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["atc_hovedgruppe"]},
        {"perspective": "somatik", "measures": ["indlaeggelser"], "columns": ["aar", "aar"]},
        {"perspective": "somatik", "measures": ["findes_ikke"]},
        {"perspective": "somatik", "measures": ["indlaeggelser"], "filters": {"atc_hovedgruppe": ["A"]}},
        {"perspective": "somatik", "measures": ["indlaeggelser"], "segment": "ingen"},
        {"perspective": "somatik", "measures": ["indlaeggelser"], "period": {"from": "tyve"}},
        {"perspective": "ingen", "measures": ["indlaeggelser"]},
    ],
)
def test_every_problem_of_an_address_reads_danish_in_danish(raw: dict[str, object]) -> None:
    catalog = default_catalog()
    problems = problems_of(raw)
    for problem in problems:
        danish = problem_text(problem, catalog, "da")
        assert not any(word in danish for word in ENGLISH), danish
        assert problem_text(problem, catalog, "en")  # English keeps the checker's own words
    assert problems
