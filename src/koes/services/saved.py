"""Saved analyses of the Analysis builder: save, list, read, rename, share and delete.

A saved analysis is an analysis request under a name, owned by the user who saved it and kept in
its organisation. The rules:

- the request is checked against the catalog (:func:`koes.query.request.parse_request`) and
  stored in canonical form; every problem is named by field (``request.measures[0]``), together
  with the name's problems;
- a user sees its own analyses and those its organisation's users shared, also when their owner
  has since been deactivated (the organisation's work stays);
- anything of another organisation, or a colleague's unshared analysis, is *not found*: the
  answer never tells whether it exists;
- only the owner changes or deletes; a colleague who can see a shared analysis gets *forbidden*;
- saving, changing and deleting each write an audit record in the same transaction
  (``analysis.save``, ``analysis.update``, ``analysis.delete``). The summary names the analysis by
  id and name and the request by its perspective and measure ids, never by filter values; the
  request itself is identified by its hash.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from koes.appdb import saved as store
from koes.appdb.saved import SavedChange, SavedRow
from koes.domain.cpr import mask_cpr
from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.query.request import AnalysisRequest, FieldProblem, RequestError, parse_request
from koes.semantic.loader import default_catalog
from koes.semantic.model import Catalog
from koes.services.audit import AuditTrail, safe_text
from koes.services.errors import Clock, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, utc_now
from koes.services.refusals import audits_refusals

__all__ = [
    "MAX_NAME",
    "ConflictError",
    "ForbiddenError",
    "InvalidInputError",
    "NotFoundError",
    "SavedAnalysis",
    "SavedAnalysisService",
]

MAX_NAME = 120
PERMISSION = "analysis"
NOT_FOUND = "no such saved analysis"
T = TypeVar("T")


@dataclass(frozen=True)
class SavedAnalysis:
    """A saved analysis as one caller sees it (``editable``: the caller is its owner)."""

    id: int
    name: str
    request: dict[str, Any]  # canonical form
    shared: bool
    organisation: str
    owner_id: int
    owner: str
    editable: bool
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "request": self.request,
            "shared": self.shared,
            "organisation": self.organisation,
            "owner_id": self.owner_id,
            "owner": self.owner,
            "editable": self.editable,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class SavedAnalysisService:
    """Saved analyses in one app database, audited in its :class:`AuditTrail`."""

    def __init__(self, trail: AuditTrail, catalog: Catalog | None = None, clock: Clock = utc_now) -> None:
        self.trail = trail
        self.database = trail.database
        self.catalog = catalog or default_catalog()
        self.clock = clock

    # --- reading -------------------------------------------------------------------------------
    @audits_refusals("access.denied", "open saved analysis #{analysis_id}")
    def get(self, principal: Principal, analysis_id: int) -> SavedAnalysis:
        _require(principal)
        row = store.get_saved(self.database, analysis_id)
        if row is None or not _visible(principal, row):
            raise NotFoundError(NOT_FOUND)
        return _info(principal, row)

    # --- changes -------------------------------------------------------------------------------
    @audits_refusals("analysis.save", "save an analysis")
    def save(self, principal: Principal, name: str, request: object, shared: bool = False) -> SavedAnalysis:
        """Save ``request`` (checked, stored canonical) under ``name``; ConflictError if the caller has that name."""
        _require(principal)
        if principal.user_id is None:
            raise ForbiddenError("only a signed-in user of the app saves analyses")
        clean, parsed = self._checked(name, request)
        assert clean is not None and parsed is not None  # both were given, and _checked raised on problems
        now = self.clock()
        row = store.insert_saved(
            self.database,
            organisation=str(principal.organisation),
            owner_id=principal.user_id,
            name=clean,
            request=parsed.canonical(),
            shared=shared,
            at=now,
            event=lambda r: _event(principal, now, "analysis.save", r, _saved_text(r, parsed)),
        )
        return _info(principal, row)

    @audits_refusals("analysis.update", "change saved analysis #{analysis_id}")
    def update(
        self,
        principal: Principal,
        analysis_id: int,
        name: str | None = None,
        request: object | None = None,
        shared: bool | None = None,
    ) -> SavedAnalysis:
        """Rename, replace the request, share or unshare (None: keep). Only the owner; no change, no record."""
        _require(principal)
        if name is None and request is None and shared is None:
            raise InvalidInputError([FieldProblem("body", "give at least one of name, request, shared")])
        clean, parsed = self._checked(name, request)
        now = self.clock()
        done = self._store(
            store.update_saved,
            analysis_id,
            check=lambda r: _owned(principal, r),
            name=clean,
            request=parsed.canonical() if parsed else None,
            shared=shared,
            at=now,
            event=lambda c: _update_event(principal, now, c, parsed),
        )
        return _info(principal, done.after)

    @audits_refusals("analysis.delete", "delete saved analysis #{analysis_id}")
    def delete(self, principal: Principal, analysis_id: int) -> SavedAnalysis:
        """Delete one of the caller's own analyses; what was deleted."""
        _require(principal)
        done = self._store(
            store.delete_saved,
            analysis_id,
            check=lambda r: _owned(principal, r),
            event=lambda r: _event(principal, self.clock(), "analysis.delete", r, f"{_label(r)} deleted"),
        )
        return _info(principal, done)

    def _store(self, change: Callable[..., T], analysis_id: int, **options: Any) -> T:
        """Run a store change; a row that is gone is not found, like one the caller cannot see."""
        try:
            return change(self.database, analysis_id, **options)
        except LookupError:
            raise NotFoundError(NOT_FOUND) from None

    def _checked(self, name: str | None, request: object | None) -> tuple[str | None, AnalysisRequest | None]:
        """The clean name and the parsed request (None where not given); every problem of both at once."""
        problems: list[FieldProblem] = []
        clean = None if name is None else _clean_name(name, problems)
        parsed = None if request is None else _parse(request, self.catalog, problems)
        if problems:
            raise InvalidInputError(problems)
        return clean, parsed

    # Last: inside the class body, the name ``list`` means this method from here on.
    @audits_refusals("access.denied", "list saved analyses")
    def list(self, principal: Principal) -> list[SavedAnalysis]:
        """The caller's own analyses and its organisation's shared ones, most recently changed first."""
        _require(principal)
        rows = store.visible_saved(self.database, str(principal.organisation), principal.user_id)
        return [_info(principal, r) for r in rows]


# --- rules -----------------------------------------------------------------------------------------


def _require(principal: Principal) -> None:
    if not principal.may(PERMISSION):
        raise ForbiddenError("saved analyses need the analysis permission")


def _visible(principal: Principal, row: SavedRow) -> bool:
    same_org = row.organisation == str(principal.organisation)
    return same_org and (row.shared or _is_owner(principal, row))


def _is_owner(principal: Principal, row: SavedRow) -> bool:
    return principal.user_id is not None and row.owner_id == principal.user_id


def _owned(principal: Principal, row: SavedRow) -> None:
    """The change rule: invisible is not found; visible but a colleague's is forbidden."""
    if not _visible(principal, row):
        raise NotFoundError(NOT_FOUND)
    if not _is_owner(principal, row):
        raise ForbiddenError("only the owner may change or delete a saved analysis")


def _clean_name(name: str, problems: list[FieldProblem]) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= MAX_NAME:
        problems.append(FieldProblem("name", f"1–{MAX_NAME} characters (leading and trailing spaces do not count)"))
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in clean):
        problems.append(FieldProblem("name", "must be one line of text, without control characters"))
    if mask_cpr(clean) != clean:  # the name reaches the audit trail and other users' lists
        problems.append(FieldProblem("name", "must not contain a CPR-shaped number"))
    return clean


def _parse(request: object, catalog: Catalog, problems: list[FieldProblem]) -> AnalysisRequest | None:
    try:
        return parse_request(request, catalog)
    except RequestError as exc:
        problems += [_under_request(p) for p in exc.problems]
        return None


def _under_request(problem: FieldProblem) -> FieldProblem:
    """``measures[0]`` → ``request.measures[0]``: the field as it is named in a saved analysis."""
    field = problem.field if problem.field == "request" else f"request.{problem.field}"
    return FieldProblem(field, problem.message)


def _info(principal: Principal, row: SavedRow) -> SavedAnalysis:
    return SavedAnalysis(
        id=row.id,
        name=row.name,
        request=json.loads(row.request),
        shared=row.shared,
        organisation=row.organisation,
        owner_id=row.owner_id,
        owner=row.owner,
        editable=_is_owner(principal, row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- audit -----------------------------------------------------------------------------------------


def _event(principal: Principal, at: datetime, action: str, row: SavedRow, summary: str) -> AuditEvent:
    return AuditEvent(
        at=at,
        user=principal.user,
        organisation=str(principal.organisation),
        action=action,
        summary=safe_text(summary),
        request_hash=request_hash(row.request),
        scope="",
    )


def _label(row: SavedRow) -> str:
    return f'saved analysis #{row.id} "{row.name}"'


def _ids(request: AnalysisRequest) -> str:
    """The request by its ids only: filter values and the period are left out."""
    return f"{request.perspective} [{', '.join(request.measures)}]"


def _saved_text(row: SavedRow, request: AnalysisRequest) -> str:
    return f"{_label(row)} saved: {_ids(request)}" + ("; shared with the organisation" if row.shared else "")


def _update_event(
    principal: Principal, at: datetime, change: SavedChange, request: AnalysisRequest | None
) -> AuditEvent | None:
    before, after = change.before, change.after
    what: Sequence[str] = [
        *([f'renamed from "{before.name}"'] if after.name != before.name else []),
        *([f"request changed to {_ids(request)}"] if request and after.request != before.request else []),
        *([_sharing(after.shared)] if after.shared != before.shared else []),
    ]
    if not what:
        return None  # nothing changed: nothing to record
    return _event(principal, at, "analysis.update", after, f"{_label(after)}: {', '.join(what)}")


def _sharing(shared: bool) -> str:
    return "shared with the organisation" if shared else "no longer shared"
