"""A hidden amount in kroner says it is hidden (issue 18 item 6: "<5" beside kroner reads as "under 5 kroner")."""

from __future__ import annotations

from koes.semantic.loader import default_catalog
from koes.web.views import hidden_reason, hidden_text


def test_hidden_kroner_say_skjult_and_counts_keep_their_mark() -> None:
    measures = default_catalog().measures
    assert hidden_text("<5", measures["medfinansiering_kr"], "da") == "skjult"
    assert hidden_text("x", measures["medfinansiering_pr_borger"], "en") == "hidden"
    assert hidden_text("<5", measures["indlaeggelser"], "da") == "<5"
    assert hidden_text("x", measures["indlaeggelser"], "en") == "x"


def test_the_reason_is_said_in_both_languages() -> None:
    assert "færre end 5" in hidden_reason("<5", "da")
    assert "fewer than 5" in hidden_reason("<5", "en")
    assert hidden_reason("x", "da") != hidden_reason("<5", "da")
