"""The audit trail's summaries in Danish on a Danish page (issue 18: English summaries on Danish pages).

The summaries are the ones the services write (their own functions make them here), read through
the phrases of ``koes/web/audit_phrases.yaml``."""

from __future__ import annotations

from datetime import UTC, datetime

from koes.query.request import FieldProblem, RequestError, parse_request
from koes.semantic.loader import default_catalog
from koes.services.audit import describe_request, failed_analysis_event
from koes.services.errors import NotFoundError
from koes.services.refusals import refusal_event
from koes.services.users import OPERATOR
from koes.web.audit_phrases import Clause, in_language, phrase_problems

AT = datetime(2026, 12, 5, 12, tzinfo=UTC)


def danish(summary: str) -> str:
    clauses = in_language(summary, "da")
    assert all(c.lang == "da" for c in clauses), clauses
    return "; ".join(c.text for c in clauses)


def test_every_phrase_reads_its_own_example_and_no_earlier_phrase_takes_it() -> None:
    assert phrase_problems() == []


def test_an_analysis_with_filters_and_a_segment_reads_in_danish() -> None:
    raw = {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["kommune"],
        "filters": {"koen": [2]},
        "segment": "borgere_65",
    }
    summary = describe_request(parse_request(raw, default_catalog()), None)
    text = danish(summary)
    assert "seneste år" in text and "filtre koen=2" in text and "borgergruppe borgere_65" in text
    assert "latest year" not in text and "segment" not in text


def test_a_refused_attempt_reads_in_danish_with_its_reason() -> None:
    event = refusal_event(OPERATOR, "grant.add", "grant analyst to user #4", NotFoundError("x"), AT)
    assert danish(event.summary) == (
        "tildel analyst til bruger #4: afvist, ikke fundet (intet sådant id, eller et brugeren ikke kan nå)"
    )


def test_a_bad_request_reads_in_danish() -> None:
    error = RequestError([FieldProblem("measures", "unknown"), FieldProblem("rows", "unknown")])
    event = failed_analysis_event({"perspective": "somatik"}, OPERATOR, "analysis", error, None, "", None)
    expected = "forespørgslen kunne ikke læses; ugyldig forespørgsel, 2 problem(er) i measures, rows"
    assert danish(event.summary) == expected


def test_an_unknown_clause_stays_as_recorded_and_says_it_is_english() -> None:
    clauses = in_language("signed in with a password; a clause no phrase knows", "da")
    assert clauses == [Clause("logget ind med adgangskode", "da"), Clause("a clause no phrase knows", "en")]


def test_a_refusal_whose_reason_is_unknown_is_not_half_translated() -> None:
    clauses = in_language("grant analyst to user #4: refused, the moon is full", "da")
    assert clauses == [Clause("grant analyst to user #4: refused, the moon is full", "en")]


def test_an_english_page_shows_the_summary_as_recorded() -> None:
    assert in_language("signed in with a password", "en") == [Clause("signed in with a password", "en")]
