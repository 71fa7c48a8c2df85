"""The audit trail's rules, as pure functions: events, the hash chain, and the CPR guard.

Every data access writes one :class:`AuditEvent`. Stored, an event becomes an
:class:`AuditEntry`: it gets the next id and is sealed with the hash of the entry before it::

    record_hash = sha256(prev_hash + "\\n" + record_json(id, event))

``record_json`` is the canonical JSON of the id and every field of the event (sorted keys, no
whitespace, UTF-8, times in UTC with microseconds, ``"v": 1`` for the format). The first entry
links to :data:`GENESIS`. Ids are consecutive (1, 2, 3 …), so :func:`verify_chain` can name what
was done to a stored trail: an edited entry no longer matches its hash, a deleted one leaves a
gap in the ids and a broken link, reordered entries break the links around them.

A chain cannot tell whether entries were cut off at its end, or rewritten wholesale by someone
who recomputed every hash after an edit. Against that, note the head (last id and hash) somewhere
else now and then, and verify against it later (``anchor``).

Nothing here stores anything: :mod:`koes.appdb.audit` does, and calls :func:`check_event` first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from koes.domain.cpr import mask_cpr

FORMAT_VERSION = 1
GENESIS = "0" * 64
OUTCOMES = ("ok", "denied", "error")
ACTIONS = (
    "report",
    "analysis",
    "export",
    "cohort_upload",
    # analysis of a cohort (Advanced): its profile page, its before-and-after series, its person rows
    "cohort_profile",
    "cohort_series",
    "individual_view",
    "individual_export",
    # administration: users, grants, tokens (each change in the same transaction as its record)
    "user.create",
    "user.deactivate",
    "user.reactivate",
    "user.rename",
    "user.password",
    "user.totp_reset",
    "grant.add",
    "grant.revoke",
    "token.create",
    "token.revoke",
    # organisations that change (a region created, its users moved: the 2027 region reform)
    "organisation.create",
    "user.move",
    # a signed-in user changing its own password (denied: a wrong current password, counted like a sign-in)
    "password.change",
    # sign-in and second factors (never the password, a code, a secret or a token)
    "signin.ok",
    "signin.failed",
    "totp.enrol",
    "totp.confirm",
    "recovery.create",
    # a signed-in caller refused by an endpoint's permission rule
    "access.denied",
    # an administrator reading or exporting the audit trail in the web app
    "audit.view",
    "audit.export",
    # an administrator reading the data status (releases, row accounting, quarantine summary)
    "status.view",
    # saved analyses of the Analysis builder (the request, never its results)
    "analysis.save",
    "analysis.update",
    "analysis.delete",
    # kept cohorts (Advanced): their use (members handed to an analysis), sharing, deletion, expiry
    "cohort.use",
    "cohort.share",
    "cohort.delete",
    "cohort.expire",
    # background jobs (a large cohort's profile or series): a result read, unfinished jobs interrupted,
    # a user's jobs listed, ended jobs and results of deleted cohorts deleted by the retention sweep
    "job.read",
    "job.interrupt",
    "job.list",
    "job.sweep",
)
ADMIN_ACTIONS = (
    "user.create",
    "user.deactivate",
    "user.reactivate",
    "user.rename",
    "user.password",
    "user.totp_reset",
    "grant.add",
    "grant.revoke",
    "token.create",
    "token.revoke",
    "organisation.create",
    "user.move",
)
# Free text that a person or a request may have shaped: each is checked for CPR numbers.
TEXT_FIELDS = ("user", "organisation", "action", "summary", "purpose", "release_id")
MAX_TEXT = {"user": 200, "organisation": 64, "action": 32, "summary": 2000, "purpose": 2000, "release_id": 64}
_HASH = re.compile(r"[0-9a-f]{64}")
_SCOPE = re.compile(r"[0-9a-f]{0,64}")


class CprInTextError(ValueError):
    """Text meant for the audit trail or a log holds a CPR-shaped number. The message never repeats it."""


@dataclass(frozen=True)
class AuditEvent:
    """One access: who, from which organisation, what, with which scope, and what came back."""

    at: datetime  # timezone-aware; kept in UTC
    user: str
    organisation: str  # "national", "region:1084", "kommune:101"
    action: str  # one of ACTIONS
    summary: str  # readable one-liner: never a CPR number or a person row
    request_hash: str  # sha256 hex of the canonical request
    scope: str  # the scope fingerprint applied ("" when no scope applies, e.g. sign-in)
    rows_returned: int = 0
    cells_returned: int = 0
    cells_suppressed: int = 0
    purpose: str | None = None  # stated purpose of an individual-level access
    release_id: str | None = None
    outcome: str = "ok"  # ok | denied | error

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("AuditEvent.at must be timezone-aware")
        object.__setattr__(self, "at", self.at.astimezone(UTC))


@dataclass(frozen=True)
class AuditEntry:
    """A stored event: its id in the chain, the hash it links to and its own hash."""

    id: int
    event: AuditEvent
    prev_hash: str
    record_hash: str


@dataclass(frozen=True)
class ChainReport:
    records: int
    head_id: int | None
    head_hash: str | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def assert_no_cpr(text: str, what: str = "text") -> None:
    """Refuse text holding a CPR-shaped number (6 digits, optional dash, 4 digits, anywhere).

    Uses :func:`koes.domain.cpr.mask_cpr`, which errs on the side of masking: any run of ten
    digits counts. Callers that build text from requests mask it first; this is the last guard.
    """
    if _has_cpr(text):
        raise CprInTextError(f"{what} contains a CPR-shaped number; it is not written to the audit trail or a log")


def _has_cpr(text: str) -> bool:
    return mask_cpr(text) != text


def event_problems(event: AuditEvent) -> list[str]:
    """Every reason an event may not be stored. Messages name fields, never their values."""
    problems: list[str] = []
    for name in TEXT_FIELDS:
        value = getattr(event, name)
        if value is None:
            if name in ("purpose", "release_id"):
                continue
            problems.append(f"{name} is missing")
            continue
        if not isinstance(value, str):
            problems.append(f"{name} must be text")
            continue
        try:
            assert_no_cpr(value, name)
        except CprInTextError as exc:
            problems.append(str(exc))
        if len(value) > MAX_TEXT[name]:
            problems.append(f"{name} is longer than {MAX_TEXT[name]} characters")
        if "\x00" in value:
            problems.append(f"{name} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{name} is not valid Unicode text")
    for name in ("user", "organisation", "summary"):
        if isinstance(getattr(event, name), str) and not getattr(event, name).strip():
            problems.append(f"{name} is empty")
    if event.action not in ACTIONS:
        problems.append(f"action must be one of {', '.join(ACTIONS)}")
    if event.outcome not in OUTCOMES:
        problems.append(f"outcome must be one of {', '.join(OUTCOMES)}")
    if not (isinstance(event.request_hash, str) and _HASH.fullmatch(event.request_hash)):
        problems.append("request_hash must be 64 lowercase hex digits (sha256)")
    if not (isinstance(event.scope, str) and _SCOPE.fullmatch(event.scope)):
        problems.append("scope must be a scope fingerprint (lowercase hex)")
    for name in ("rows_returned", "cells_returned", "cells_suppressed"):
        value = getattr(event, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{name} must be a whole number ≥ 0")
    return problems


def check_event(event: AuditEvent) -> None:
    """Raise ``ValueError`` (``CprInTextError`` if a CPR number is the reason) unless the event may be stored."""
    with_cpr = [
        name for name in TEXT_FIELDS if isinstance(getattr(event, name), str) and _has_cpr(getattr(event, name))
    ]
    if with_cpr:
        raise CprInTextError(f"audit event refused: {', '.join(with_cpr)} contain(s) a CPR-shaped number")
    problems = event_problems(event)
    if problems:
        raise ValueError("audit event refused: " + "; ".join(problems))


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def record_json(record_id: int, event: AuditEvent) -> str:
    """The canonical JSON of an entry's id and event: the text its hash is computed over."""
    body: dict[str, Any] = {f.name: getattr(event, f.name) for f in fields(event)}
    body["at"] = canonical_time(event.at)
    body["id"] = record_id
    body["v"] = FORMAT_VERSION
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, event_json: str) -> str:
    """SHA-256 (hex) of the previous entry's hash, a newline and this entry's canonical JSON."""
    return hashlib.sha256(f"{prev_hash}\n{event_json}".encode("utf-8", "surrogatepass")).hexdigest()


def seal(record_id: int, event: AuditEvent, prev_hash: str) -> AuditEntry:
    """The entry for ``event`` stored as ``record_id`` after the entry whose hash is ``prev_hash``."""
    return AuditEntry(record_id, event, prev_hash, chain_hash(prev_hash, record_json(record_id, event)))


def build_chain(events: Iterable[AuditEvent]) -> list[AuditEntry]:
    """Seal events into a fresh chain, ids from 1 (what the database does one entry at a time)."""
    entries: list[AuditEntry] = []
    for i, event in enumerate(events, start=1):
        entries.append(seal(i, event, entries[-1].record_hash if entries else GENESIS))
    return entries


def request_hash(canonical_request_text: str) -> str:
    """SHA-256 (hex) of a request's canonical text: identifies the request without repeating it."""
    return hashlib.sha256(canonical_request_text.encode("utf-8", "surrogatepass")).hexdigest()


def check_chain(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> ChainReport:
    """Walk the entries in stored order (ascending id) and report every break in the chain."""
    problems: list[str] = []
    prev_id, prev_hash = 0, GENESIS
    count = 0
    anchor_seen = False
    for entry in entries:
        count += 1
        if entry.id <= prev_id:
            problems.append(f"record {entry.id} comes after record {prev_id}: records were reordered or renumbered")
        elif entry.id > prev_id + 1:
            missing = f"record {prev_id + 1}" if entry.id == prev_id + 2 else f"records {prev_id + 1}–{entry.id - 1}"
            problems.append(f"{missing} missing before record {entry.id}: deleted")
        if entry.prev_hash != prev_hash:
            before = f"record {prev_id}" if prev_id else "the start of the trail"
            problems.append(
                f"record {entry.id} does not link to {before}: a record between them was deleted, edited or moved"
            )
        if entry.record_hash != chain_hash(entry.prev_hash, record_json(entry.id, entry.event)):
            problems.append(f"record {entry.id} does not match its hash: edited")
        if anchor is not None and entry.id == anchor[0]:
            anchor_seen = True
            if entry.record_hash != anchor[1]:
                problems.append(f"record {entry.id} no longer has the anchored hash: the trail was rewritten")
        prev_id, prev_hash = entry.id, entry.record_hash
    if anchor is not None and not anchor_seen:
        problems.append(f"anchored record {anchor[0]} is not in the trail: deleted or cut off")
    return ChainReport(count, prev_id or None, prev_hash if count else None, tuple(problems))


def verify_chain(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> list[str]:
    """Every problem of a stored trail (empty when intact): edited, deleted or reordered entries."""
    return list(check_chain(entries, anchor).problems)


def parse_anchor(text: str) -> tuple[int, str]:
    """``ID:HASH`` (as printed by ``koes audit verify``) → ``(id, hash)``."""
    record_id, _, digest = text.strip().partition(":")
    if not (record_id.isascii() and record_id.isdigit()) or not _HASH.fullmatch(digest):
        raise ValueError("an anchor is RECORD_ID:SHA256_HEX, as printed by `koes audit verify`")
    return int(record_id), digest
