"""Reading and exporting the audit trail within the reader's reach; each reading is itself recorded.

A local administrator reads its own organisation's records only (another organisation is "not
found"), a system administrator all or the one it names (``view_audit`` in ``roles.yaml``). The
filters travel as one frozen :class:`AuditQuery`, scoped by :meth:`AuditReading._scoped` every
time it is run, so no caller can widen a query it was handed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from koes.privacy.access import Principal
from koes.privacy.audit import ACTIONS as AUDIT_ACTIONS
from koes.privacy.audit import OUTCOMES as AUDIT_OUTCOMES
from koes.privacy.audit import AuditEntry, AuditEvent, canonical_time, request_hash
from koes.query.request import FieldProblem
from koes.services.audit import AuditQuery, AuditTrail, safe_text
from koes.services.errors import Clock, InvalidInputError
from koes.services.reach import organisation_key, reach, reaches_all, require
from koes.services.refusals import audits_refusals

__all__ = ["AuditPage", "AuditReading"]


@dataclass(frozen=True)
class AuditPage:
    """One page of audit records, newest first, the number of all matching records, and the
    organisation the records were limited to (None: every organisation)."""

    entries: tuple[AuditEntry, ...]
    total: int
    organisation: str | None


class AuditReading:
    """Reading the audit trail, for a service that holds it (:class:`~koes.services.users.UserService`)."""

    trail: AuditTrail
    clock: Clock

    @audits_refusals("audit.view", "read the audit trail (organisation {organisation})")
    def audit(
        self,
        actor: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        organisation: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Audit records the actor may read, newest first: its organisation's (local), or all (system)."""
        query = self.audit_query(actor, since=since, until=until, organisation=organisation)
        found = self.trail.latest(query, limit, offset)
        # Reading the trail is a data access too (the JSON API's reading; the page uses view_audit).
        self.trail.record(_audit_access_event(actor, self.clock(), "audit.view", query, "API", len(found)))
        return found

    @audits_refusals("audit.view", "read the audit trail (organisation {organisation})")
    def audit_query(
        self,
        actor: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        organisation: str | None = None,
        action: str | None = None,
        user: str | None = None,
        outcome: str | None = None,
    ) -> AuditQuery:
        """The audit query the actor may run: a local administrator's is always its own organisation
        (another one is "not found"), a system administrator's is all or the one it names."""
        require(actor, "view_audit")
        if organisation is not None:
            organisation = organisation_key(organisation)
            reach(actor, "view_audit", organisation)
        problems = []
        if action is not None and action not in AUDIT_ACTIONS:
            problems.append(FieldProblem("action", f"must be one of {', '.join(AUDIT_ACTIONS)}"))
        if outcome is not None and outcome not in AUDIT_OUTCOMES:
            problems.append(FieldProblem("outcome", f"must be one of {', '.join(AUDIT_OUTCOMES)}"))
        if problems:
            raise InvalidInputError(problems)
        return self._scoped(actor, AuditQuery(since, until, organisation, action, user, outcome))

    @audits_refusals("audit.view", "read the audit trail")
    def view_audit(self, actor: Principal, query: AuditQuery, *, limit: int = 100, offset: int = 0) -> AuditPage:
        """One page of the audit records of ``query`` (from :meth:`audit_query`), newest first, and the
        total; the reading is itself recorded (``audit.view``) before the records are returned."""
        query = self._scoped(actor, query)
        found = self.trail.latest(query, limit, offset)
        total = self.trail.count(query)
        page = offset // limit + 1 if limit > 0 else 1
        self.trail.record(_audit_access_event(actor, self.clock(), "audit.view", query, f"page {page}", len(found)))
        return AuditPage(tuple(found), total, query.organisation)

    @audits_refusals("audit.export", "export the audit trail")
    def export_audit(self, actor: Principal, query: AuditQuery, *, delimiter: str = ";") -> bytes:
        """The records of ``query`` as CSV (UTF-8 with BOM); the export is recorded (``audit.export``) first."""
        query = self._scoped(actor, query)
        rows = self.trail.count(query)
        self.trail.record(_audit_access_event(actor, self.clock(), "audit.export", query, "csv", rows))
        return self.trail.export(query=query, delimiter=delimiter)

    @staticmethod
    def _scoped(actor: Principal, query: AuditQuery) -> AuditQuery:
        """``query`` within the actor's reach: its organisation checked, or set to the actor's own
        when the actor does not reach every one."""
        require(actor, "view_audit")
        if query.organisation is not None:
            reach(actor, "view_audit", query.organisation)
            return query
        if reaches_all(actor, "view_audit"):
            return query
        return replace(query, organisation=str(actor.organisation))


def _audit_access_event(
    actor: Principal, at: datetime, action: str, query: AuditQuery, what: str, rows: int
) -> AuditEvent:
    """The record of an administrator reading (``audit.view``) or exporting (``audit.export``) the trail."""
    filters = {
        "since": canonical_time(query.since) if query.since else None,
        "until": canonical_time(query.until) if query.until else None,
        "organisation": query.organisation,
        "action": query.action,
        "user": query.user,
        "outcome": query.outcome,
    }
    shown = " ".join(f"{k}={v}" for k, v in filters.items() if v is not None) or "no filters"
    return AuditEvent(
        at=at,
        user=actor.user,
        organisation=str(actor.organisation),
        action=action,
        summary=safe_text(f"audit trail, {what}; {shown}"),
        request_hash=request_hash(json.dumps(filters, sort_keys=True, ensure_ascii=False)),
        scope="",
        rows_returned=rows,
    )
