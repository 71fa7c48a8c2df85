"""The audit trail as a service: record every data access, verify the chain, export records.

``AuditTrail(database).record(event)`` appends one hash-chained record (see
:mod:`koes.privacy.audit` for the chain and :mod:`koes.appdb.audit` for the storage). The
analysis path builds its events with :func:`analysis_event` and :func:`failed_analysis_event`:
readable summaries are built from catalog ids and masked, so no CPR number or person row can
reach the trail (the store refuses one all the same).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from koes.appdb.audit import AuditFilter, append, count, entries, latest
from koes.appdb.database import AppDatabase
from koes.domain.cpr import mask_cpr
from koes.privacy.access import Organisation, Principal
from koes.privacy.audit import (
    ACTIONS,
    OUTCOMES,
    AuditEntry,
    AuditEvent,
    ChainReport,
    canonical_time,
    check_chain,
    parse_anchor,
    request_hash,
)
from koes.query.request import AnalysisRequest, RequestError
from koes.query.scope import ScopeDeniedError
from koes.services.results import AnalysisResult

__all__ = [
    "ACTIONS",
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "OUTCOMES",
    "AuditEntry",
    "AuditEvent",
    "AuditQuery",
    "AuditTrail",
    "ChainReport",
    "analysis_event",
    "denied_event",
    "describe_request",
    "failed_analysis_event",
    "parse_anchor",
    "parse_instant",
    "safe_text",
]

EXPORT_FORMATS = ("csv", "json")
EXPORT_COLUMNS = (
    "id",
    "at",
    "user",
    "organisation",
    "action",
    "outcome",
    "summary",
    "request_hash",
    "scope",
    "rows_returned",
    "cells_returned",
    "cells_suppressed",
    "purpose",
    "release_id",
    "prev_hash",
    "record_hash",
)
MAX_SUMMARY = 1000
MAX_VALUES_SHOWN = 5


@dataclass(frozen=True)
class AuditQuery:
    """Which records: ``since`` inclusive, ``until`` exclusive, one organisation or all; optionally
    one action, one user name and one outcome."""

    since: datetime | None = None
    until: datetime | None = None
    organisation: str | None = None
    action: str | None = None
    user: str | None = None
    outcome: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"{name} must be timezone-aware")
        if self.organisation is not None:
            Organisation.parse(self.organisation)  # raises ValueError naming the accepted forms
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")


class AuditTrail:
    """The audit trail of one app database."""

    def __init__(self, database: AppDatabase) -> None:
        self.database = database

    def record(self, event: AuditEvent) -> int:
        """Append ``event``; its record id. Raises (and stores nothing) if the event breaks the rules."""
        return append(self.database, event).id

    def check(self, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole chain: record count, head, and every problem (edited, deleted, reordered)."""
        return check_chain(entries(self.database), anchor)

    def verify(self, anchor: tuple[int, str] | None = None) -> list[str]:
        """Every problem of the chain; empty when intact."""
        return list(self.check(anchor).problems)

    def records(self, query: AuditQuery | None = None) -> list[AuditEntry]:
        return list(entries(self.database, _filter(query)))

    def latest(self, query: AuditQuery | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """The newest ``limit`` records matching ``query`` (skipping the newest ``offset``), newest first."""
        return latest(self.database, _filter(query), limit, offset)

    def count(self, query: AuditQuery | None = None) -> int:
        return count(self.database, _filter(query))

    def export(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        organisation: str | None = None,
        fmt: str = "csv",
        *,
        query: AuditQuery | None = None,
        delimiter: str = ",",
    ) -> bytes:
        """Records as CSV (UTF-8 with BOM, for Excel) or JSON, with their hashes (so a copy can be checked).

        ``query`` (all filters at once) replaces ``since``, ``until`` and ``organisation`` when given;
        ``delimiter`` is the CSV separator (``;`` for a Danish Excel)."""
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
        if query is None:
            query = AuditQuery(since, until, organisation)
        else:
            since, until, organisation = query.since, query.until, query.organisation
        rows = [entry_json(e) for e in entries(self.database, _filter(query))]
        if fmt == "json":
            body = {
                "exported_at": canonical_time(datetime.now(UTC)),
                "filters": {
                    "since": canonical_time(since) if since else None,
                    "until": canonical_time(until) if until else None,
                    "organisation": organisation,
                },
                "records": rows,
            }
            return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
        return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    e = entry.event
    return {
        "id": entry.id,
        "at": canonical_time(e.at),
        "user": e.user,
        "organisation": e.organisation,
        "action": e.action,
        "outcome": e.outcome,
        "summary": e.summary,
        "request_hash": e.request_hash,
        "scope": e.scope,
        "rows_returned": e.rows_returned,
        "cells_returned": e.cells_returned,
        "cells_suppressed": e.cells_suppressed,
        "purpose": e.purpose,
        "release_id": e.release_id,
        "prev_hash": entry.prev_hash,
        "record_hash": entry.record_hash,
    }


def _filter(query: AuditQuery | None) -> AuditFilter:
    q = query or AuditQuery()
    return AuditFilter(q.since, q.until, q.organisation, q.action, q.user, q.outcome)


def parse_instant(text: str, *, end: bool = False) -> datetime:
    """``2024-05-01`` (midnight UTC; with ``end`` the following midnight, so the day is included)
    or an ISO date and time (UTC unless it names an offset)."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        midnight = datetime.combine(day, time(), UTC)
        return midnight + timedelta(days=1) if end else midnight
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected a date (2024-05-01) or a date and time (2024-05-01T13:30, UTC)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- events of the analysis path ---------------------------------------------------------------
def describe_request(request: AnalysisRequest, period: str | None) -> str:
    """A readable one-liner: perspective, measures, rows × columns, period, filters, segment."""
    rows = ", ".join(request.rows) or "–"
    columns = ", ".join(request.columns) or "–"
    text = f"{request.perspective} [{', '.join(request.measures)}] {rows} × {columns}, {period or 'latest year'}"
    if request.filters:
        text += "; filters " + " ".join(f"{d}={_values_text(v)}" for d, v in request.filters)
    if request.segment:
        text += f"; segment {request.segment}"
    if request.cohort:
        text += f"; cohort {request.cohort}"
    if request.comparison_municipality:
        text += f"; comparison with {request.comparison_municipality}"
    elif request.comparison:
        text += "; comparison"
    return _safe(text)


def analysis_event(
    result: AnalysisResult, principal: Principal, action: str = "analysis", at: datetime | None = None
) -> AuditEvent:
    """The record of a served analysis (fresh or from the cache)."""
    return AuditEvent(
        at=at or datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=describe_request(result.request, str(result.plan.period)),
        request_hash=request_hash(result.request.canonical()),
        scope=result.provenance.scope,
        rows_returned=sum(len(b.row_keys) + 1 for b in result.blocks),  # + the total row
        cells_returned=result.cells_returned,
        cells_suppressed=result.cells_suppressed,
        purpose=result.purpose,
        release_id=result.provenance.release_id,
        outcome="ok",
    )


def views_event(results: Sequence[AnalysisResult], principal: Principal, action: str, summary: str) -> AuditEvent:
    """The record of one page made of several analyses (a Standard report): one access, one record."""
    first = results[0]
    return AuditEvent(
        at=datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=_safe(summary),
        request_hash=request_hash("\n".join(r.request.canonical() for r in results)),
        scope=first.provenance.scope,
        rows_returned=sum(len(b.row_keys) + 1 for r in results for b in r.blocks),
        cells_returned=sum(r.cells_returned for r in results),
        cells_suppressed=sum(r.cells_suppressed for r in results),
        purpose=next((r.purpose for r in results if r.purpose), None),  # a page of a cohort: its purpose
        release_id=first.provenance.release_id,
        outcome="ok",
    )


def views_failed_event(
    summary: str, principal: Principal, action: str, error: BaseException, scope: str, release_id: str | None
) -> AuditEvent:
    """The record of a page that was refused (``denied``) or failed (``error``)."""
    outcome, why = _outcome(error)
    return AuditEvent(
        at=datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=_safe(f"{summary}; {why}"),
        request_hash=request_hash(summary),
        scope=scope,
        release_id=release_id,
        outcome=outcome,
    )


def failed_analysis_event(
    raw: object,
    principal: Principal,
    action: str,
    error: BaseException,
    request: AnalysisRequest | None,
    scope: str,
    release_id: str | None,
) -> AuditEvent:
    """The record of a refused or failed analysis: ``denied`` without a grant, ``error`` otherwise."""
    digest = request_hash(request.canonical() if request is not None else _raw_canonical(raw))
    period = str(request.period) if request is not None and request.period is not None else None
    described = describe_request(request, period) if request is not None else "request not understood"
    outcome, why = _outcome(error)
    return AuditEvent(
        at=datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=_safe(f"{described}; {why}"),
        request_hash=digest,
        scope=scope,
        release_id=release_id,
        outcome=outcome,
    )


def denied_event(principal: Principal, action: str, summary: str, scope: str = "") -> AuditEvent:
    """The record of a signed-in caller refused by an endpoint's permission rule."""
    text = safe_text(summary)
    return AuditEvent(
        at=datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=text,
        request_hash=request_hash(text),
        scope=scope,
        outcome="denied",
    )


def _problem_fields(error: RequestError) -> str:
    # Field paths only: a problem's message may quote a value the client sent.
    fields = list(dict.fromkeys(p.field for p in error.problems))
    shown = ", ".join(fields[:10]) + (f" and {len(fields) - 10} more" if len(fields) > 10 else "")
    count = len(error.problems)
    return f"bad request, {count} problem{'s' if count != 1 else ''} in {shown}"


def _values_text(values: Sequence[Any]) -> str:
    shown = ",".join(str(v) for v in values[:MAX_VALUES_SHOWN])
    return shown + (f",…(+{len(values) - MAX_VALUES_SHOWN})" if len(values) > MAX_VALUES_SHOWN else "")


def safe_text(text: str) -> str:
    """Text fit for an audit summary: CPR-shaped numbers masked, one line, at most 1,000 characters."""
    return _safe(text)


def _outcome(error: BaseException) -> tuple[str, str]:
    """``denied`` without a grant, ``error`` otherwise; and why, without values."""
    if isinstance(error, ScopeDeniedError):
        return "denied", "no grant gives access to data"
    if isinstance(error, RequestError):
        return "error", _problem_fields(error)
    return "error", f"failed ({type(error).__name__})"


def _safe(text: str) -> str:
    """Masked (no CPR-shaped number survives), one line, not too long, no NUL."""
    one_line = " ".join(mask_cpr(text).replace("\x00", " ").split())
    return one_line if len(one_line) <= MAX_SUMMARY else one_line[: MAX_SUMMARY - 1] + "…"


def _raw_canonical(raw: object) -> str:
    try:
        return json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        return repr(raw)
