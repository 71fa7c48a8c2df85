"""The audit chain as pure logic: sealing, verification, and the CPR guard."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from koes.privacy.audit import (
    GENESIS,
    AuditEntry,
    AuditEvent,
    CprInTextError,
    assert_no_cpr,
    build_chain,
    chain_hash,
    check_chain,
    check_event,
    event_problems,
    parse_anchor,
    record_json,
    request_hash,
    seal,
    verify_chain,
)

AT = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def event(i: int = 0, **changes: Any) -> AuditEvent:
    base = AuditEvent(
        at=AT + timedelta(seconds=i),
        user="lokal",
        organisation="kommune:101",
        action="analysis",
        summary=f"somatik [indlaeggelser] kommune × koen, 2023 (#{i})",
        request_hash=request_hash(f"request {i}"),
        scope="0123456789abcdef",
        rows_returned=12,
        cells_returned=36,
        cells_suppressed=4,
        purpose=None,
        release_id="20240501T120000123Z",
        outcome="ok",
    )
    return replace(base, **changes)


def chain(n: int = 5) -> list[AuditEntry]:
    return build_chain(event(i) for i in range(n))


def with_field(entry: AuditEntry, name: str, value: Any) -> AuditEntry:
    if name in ("id", "prev_hash", "record_hash"):
        return replace(entry, **{name: value})
    return replace(entry, event=replace(entry.event, **{name: value}))


# --- sealing -----------------------------------------------------------------------------------


def test_a_fresh_chain_links_each_record_to_the_one_before() -> None:
    entries = chain(4)
    assert [e.id for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.record_hash
    assert verify_chain(entries) == []
    report = check_chain(entries)
    assert (report.records, report.head_id, report.head_hash) == (4, 4, entries[-1].record_hash)


def test_the_hash_covers_the_previous_hash_and_the_canonical_json() -> None:
    entry = seal(7, event(), "a" * 64)
    text = record_json(7, entry.event)
    assert entry.record_hash == hashlib.sha256(("a" * 64 + "\n" + text).encode()).hexdigest()
    assert chain_hash("a" * 64, text) == entry.record_hash


def test_the_canonical_json_is_sorted_compact_utf8_and_in_utc() -> None:
    local = event(at=datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))))
    text = record_json(3, local)
    body = json.loads(text)
    assert list(body) == sorted(body)
    assert body["at"] == "2024-05-01T12:30:15.123456+00:00"
    assert body["id"] == 3 and body["v"] == 1
    assert "×" in text  # ensure_ascii=False: the text is hashed as UTF-8
    assert ", " not in text.replace(", 2023", "")  # no whitespace between items
    assert set(body) == {f.name for f in fields(AuditEvent)} | {"id", "v"}


def test_times_are_kept_in_utc_and_must_be_aware() -> None:
    assert event(at=datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))).at == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        event(at=datetime(2024, 1, 1))


def test_request_hash_is_sha256_hex() -> None:
    assert request_hash("abc") == hashlib.sha256(b"abc").hexdigest()


# --- verification ------------------------------------------------------------------------------


def test_an_edited_record_is_named() -> None:
    entries = chain()
    entries[2] = with_field(entries[2], "cells_suppressed", 0)
    assert verify_chain(entries) == ["record 3 does not match its hash: edited"]


def test_an_edited_record_whose_hash_was_recomputed_breaks_the_next_link() -> None:
    entries = chain()
    edited = seal(3, replace(entries[2].event, summary="something else"), entries[2].prev_hash)
    entries[2] = edited
    problems = verify_chain(entries)
    assert problems == [
        "record 4 does not link to record 3: a record between them was deleted, edited or moved",
    ]


def test_a_deleted_record_leaves_a_gap_and_a_broken_link() -> None:
    entries = chain()
    del entries[1]
    assert verify_chain(entries) == [
        "record 2 missing before record 3: deleted",
        "record 3 does not link to record 1: a record between them was deleted, edited or moved",
    ]


def test_deleting_the_first_records_is_detected() -> None:
    entries = chain()[2:]
    problems = verify_chain(entries)
    assert "records 1–2 missing before record 3: deleted" in problems
    assert any("does not link to the start of the trail" in p for p in problems)


def test_reordered_records_are_detected() -> None:
    entries = chain()
    entries[1], entries[2] = entries[2], entries[1]
    problems = verify_chain(entries)
    assert "record 2 comes after record 3: records were reordered or renumbered" in problems
    assert any("does not link" in p for p in problems)


def test_swapped_contents_under_the_same_ids_are_detected() -> None:
    entries = chain()
    a, b = entries[1], entries[2]
    entries[1] = replace(a, event=b.event)
    entries[2] = replace(b, event=a.event)
    problems = verify_chain(entries)
    assert "record 2 does not match its hash: edited" in problems
    assert "record 3 does not match its hash: edited" in problems


def test_a_cut_off_tail_is_detected_only_against_an_anchor() -> None:
    entries = chain()
    head = (entries[-1].id, entries[-1].record_hash)
    assert verify_chain(entries[:-2]) == []  # the limit of any hash chain on its own
    assert verify_chain(entries[:-2], anchor=head) == ["anchored record 5 is not in the trail: deleted or cut off"]
    assert verify_chain(entries, anchor=head) == []


def test_a_wholly_rewritten_chain_is_detected_against_an_anchor() -> None:
    entries = chain()
    anchor = (entries[3].id, entries[3].record_hash)
    rewritten = build_chain([replace(entries[0].event, user="someone else"), *(e.event for e in entries[1:])])
    assert verify_chain(rewritten) == []
    assert verify_chain(rewritten, anchor=anchor) == [
        "record 4 no longer has the anchored hash: the trail was rewritten"
    ]


def test_an_empty_trail_is_intact() -> None:
    report = check_chain([])
    assert report.intact and report.records == 0 and report.head_id is None and report.head_hash is None


def test_anchors_are_parsed_from_what_verify_prints() -> None:
    digest = "ab" * 32
    assert parse_anchor(f"12:{digest}") == (12, digest)
    for bad in ("12", f"x:{digest}", "12:abc", f"١٢:{digest}", f"12:{digest.upper()}"):
        with pytest.raises(ValueError, match="RECORD_ID:SHA256_HEX"):
            parse_anchor(bad)


# --- property: any single-field edit of any record is detected ----------------------------------

TEXT = st.text(max_size=40)
HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
COUNT = st.integers(min_value=0, max_value=10**12)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "at": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    "user": TEXT,
    "organisation": TEXT,
    "action": st.sampled_from(["analysis", "export", "report", "signin.ok"]),
    "summary": TEXT,
    "request_hash": HEX,
    "scope": st.text(alphabet="0123456789abcdef", max_size=16),
    "rows_returned": COUNT,
    "cells_returned": COUNT,
    "cells_suppressed": COUNT,
    "purpose": st.none() | TEXT,
    "release_id": st.none() | TEXT,
    "outcome": st.sampled_from(["ok", "denied", "error"]),
}
EVENTS = st.builds(AuditEvent, **VALUES)
EDITABLE = [*VALUES, "id", "prev_hash", "record_hash"]


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[AuditEntry], int, str, Any]:
    entries = build_chain(draw(st.lists(EVENTS, min_size=1, max_size=6)))
    index = draw(st.integers(min_value=0, max_value=len(entries) - 1))
    name = draw(st.sampled_from(EDITABLE))
    if name == "id":
        value: Any = draw(st.integers(min_value=0, max_value=100))
    elif name in ("prev_hash", "record_hash"):
        value = draw(HEX)
    else:
        value = draw(VALUES[name])
    return entries, index, name, value


def _canonical(name: str, value: Any) -> Any:
    return value.isoformat(timespec="microseconds") if name == "at" else value


@given(edits())
def test_any_single_field_edit_of_any_record_is_detected(case: tuple[list[AuditEntry], int, str, Any]) -> None:
    entries, index, name, value = case
    entry = entries[index]
    old = getattr(entry, name) if name in ("id", "prev_hash", "record_hash") else getattr(entry.event, name)
    assume(_canonical(name, old) != _canonical(name, value))
    tampered = [*entries]
    tampered[index] = with_field(entry, name, value)
    assert verify_chain(entries) == []
    problems = verify_chain(tampered)
    assert problems, f"editing {name} of record {entry.id} went unnoticed"


@given(st.lists(EVENTS, min_size=2, max_size=6), st.data())
def test_any_deleted_record_is_detected(events: list[AuditEvent], data: st.DataObject) -> None:
    entries = build_chain(events)
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 2))  # the last one needs an anchor
    assert verify_chain(entries[:index] + entries[index + 1 :])


# --- the guard against CPR numbers --------------------------------------------------------------

CPRS = ["0101901234", "010190-1234", "x3112999999y", "kommune 2407541239"]


@pytest.mark.parametrize("text", CPRS)
def test_text_with_a_cpr_shaped_number_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(CprInTextError) as caught:
        assert_no_cpr(text, "summary")
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits not in str(caught.value).replace("-", "")
    assert "summary" in str(caught.value)


@pytest.mark.parametrize("field", ["user", "organisation", "summary", "purpose", "release_id"])
def test_an_event_with_a_cpr_in_any_text_field_is_refused(field: str) -> None:
    changes: dict[str, Any] = {field: "about 010190-1234"}
    with pytest.raises(CprInTextError, match=field) as caught:
        check_event(event(**changes))
    assert "1234" not in str(caught.value)


@pytest.mark.parametrize(
    "text", ["somatik [indlaeggelser] kommune × koen, 2023", "region=1081", "123456789", "12345-67890", ""]
)
def test_text_without_a_cpr_passes(text: str) -> None:
    assert_no_cpr(text)


def test_a_good_event_has_no_problems() -> None:
    check_event(event())
    assert event_problems(event(purpose="opfølgning på egne borgere", outcome="denied", scope="")) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"action": "peek"}, "action must be one of"),
        ({"outcome": "maybe"}, "outcome must be one of"),
        ({"request_hash": "abc"}, "request_hash must be 64"),
        ({"request_hash": "A" * 64}, "request_hash must be 64"),
        ({"scope": "not-hex"}, "scope must be a scope fingerprint"),
        ({"rows_returned": -1}, "rows_returned must be a whole number"),
        ({"cells_returned": True}, "cells_returned must be a whole number"),
        ({"user": " "}, "user is empty"),
        ({"summary": "x" * 2001}, "summary is longer than 2000"),
        ({"summary": "a\x00b"}, "summary contains a NUL"),
        ({"summary": "\ud800"}, "summary is not valid Unicode"),
    ],
)
def test_events_that_break_the_rules_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_event(event(**changes))
