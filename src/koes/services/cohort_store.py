"""Kept cohorts: upload (check and keep), list, use, share, delete and expire.

The rules:

- **upload**: a user holding ``individ`` (the ``individual_rows`` permission), of a municipality,
  for that municipality; a purpose is required; the cohort lives ``cohort_days`` (90) unless the
  user chooses fewer or more days, never more than ``cohort_max_days``. The file is checked by
  :func:`koes.services.cohorts.check_cohort_file` (validated, pseudonymised, linked) and only the
  members are kept: pseudonyms, birth date and sex, index date, group and own reference, never a
  CPR number and never the file. The **differencing guard** (:mod:`koes.cohorts.guard`) refuses a
  cohort that differs from another live or recently deleted cohort of the organisation by fewer
  than ``cohort_min_difference`` persons; nothing is kept then, and the report is still returned.
- **see and use**: the owner and the colleagues it is shared with (each still holding ``individ``);
  anyone else gets *not found*, recorded as a refusal. :meth:`CohortService.population` hands the
  members to the analysis as a :class:`~koes.cohorts.population.CohortPopulation` and records the
  use with its purpose.
- **share**: the owner only, with named users of the same organisation who hold ``individ``; a user
  of another organisation is *not found*, whatever its name.
- **delete**: the owner, or a local administrator of the organisation. **expire**: every cohort
  past its expiry (at start-up of ``koes serve`` and every few minutes while it runs). A deleted
  cohort leaves only a trace for the guard (size, keyed Bloom filter, keyed digest) that is
  forgotten after ``cohort_guard_days``.

Every upload (kept or refused), use, share, deletion and expiry writes an audit record with the
cohort's purpose, never a CPR number; changes and their records are one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from koes.appdb import cohorts as store
from koes.appdb import users as user_store
from koes.appdb.cohorts import CohortRow, NewCohort
from koes.cohorts.guard import Trace, compare_counts, compare_trace, make_trace, trace_key
from koes.cohorts.messages import message
from koes.cohorts.population import CohortPopulation
from koes.cohorts.report import ValidationReport
from koes.cohorts.report_codec import dump_report, load_report
from koes.cohorts.rows import Member
from koes.domain.cpr import mask_cpr
from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.query.request import FieldProblem
from koes.services.audit import AuditTrail, safe_text
from koes.services.cohort_guard import check_counted
from koes.services.cohorts import CheckRequest, CohortRefusedError, check_cohort_file
from koes.services.errors import Clock, ForbiddenError, InvalidInputError, NotFoundError, utc_now
from koes.services.refusals import audits_refusals
from koes.services.signin import load_secret_key
from koes.services.users import UserService
from koes.settings import Settings

__all__ = [
    "CohortInfo",
    "CohortRefusedError",
    "CohortService",
    "ForbiddenError",
    "InvalidInputError",
    "NotFoundError",
    "UploadRequest",
    "UploadResult",
]

PERMISSION = "individual_rows"
ADMIN_PERMISSION = "manage_users_own_org"
NOT_FOUND = "no such cohort"
MAX_NAME = 120
MAX_PURPOSE = 2000
SYSTEM = "system"  # the user of records written by the expiry job
EXPIRE_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class UploadRequest:
    purpose: str
    name: str | None = None  # default: the file's name without its extension
    days: int | None = None  # default: settings.cohort_days
    sheet: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class CohortInfo:
    """A kept cohort as one caller sees it: metadata and the report's counts, never a member."""

    id: str
    name: str
    owner: str
    organisation: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    size: int
    release_id: str
    shared_with: tuple[str, ...]
    owned: bool  # the caller owns it (may share)
    deletable: bool  # the caller may delete it (owner or local administrator)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "organisation": self.organisation,
            "purpose": self.purpose,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "size": self.size,
            "release_id": self.release_id,
            "shared_with": list(self.shared_with),
            "owned": self.owned,
            "deletable": self.deletable,
            "report": self.summary,
        }


@dataclass(frozen=True)
class UploadResult:
    """The report always; the kept cohort, or why nothing was kept."""

    report: ValidationReport
    cohort: CohortInfo | None
    refusal: CohortRefusedError | None = None

    def to_json(self, language: str = "da") -> dict[str, Any]:
        report = self.report.to_json(language)
        if self.cohort is not None:
            report["note"] = _kept_note(self.cohort, language)
        refusal = None if self.refusal is None else {"code": self.refusal.code, "message": self.refusal.text(language)}
        return {
            "cohort": None if self.cohort is None else self.cohort.to_json(),
            "refusal": refusal,
            "report": report,
        }


class CohortService:
    """Kept cohorts in one app database, audited in its :class:`AuditTrail`."""

    def __init__(
        self,
        settings: Settings,
        trail: AuditTrail,
        users: UserService | None = None,
        clock: Clock = utc_now,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.settings = settings
        self.trail = trail
        self.database = trail.database
        self.users = users or UserService(trail, clock=clock)
        self.clock = clock
        self.today = today
        self._key: bytes | None = None

    # --- upload --------------------------------------------------------------------------------
    @audits_refusals("cohort_upload", "upload a cohort")
    def upload(self, principal: Principal, file: Path | BinaryIO, request: UploadRequest) -> UploadResult:
        """Check the file and keep the cohort; raises ``CohortRefusedError`` when the file is refused
        whole (no report), returns the report with the refusal when the guard refuses."""
        municipality, owner_id = _uploader(principal)
        name, purpose, days = self._checked_request(request)
        check_request = CheckRequest(
            municipality,
            request.sheet,
            today=self.today() if self.today else None,
            user=principal.user,
            purpose=purpose,
        )
        try:
            check = check_cohort_file(self.settings, file, check_request)
        except CohortRefusedError as refused:
            self.trail.record(
                self._upload_event(principal, purpose, f"cohort upload refused: {refused.code}; nothing kept", "denied")
            )
            raise
        report, members = check.report, check.members
        release_id = report.linked.release_id if report.linked else ""
        if not members:
            return self._refused(principal, purpose, report, CohortRefusedError("no_members"), release_id)
        now = self.clock()
        cohort = NewCohort(
            id=new_cohort_id(),
            organisation=str(principal.organisation),
            owner_id=owner_id,
            name=name,
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(days=days),
            release_id=release_id,
            report=dump_report(report),
        )
        try:
            row = store.insert_cohort(
                self.database,
                cohort,
                members,
                guard=self._guard({m.pseudonym for m in members}),
                traces_since=now - timedelta(days=self.settings.cohort_guard_days),
                event=lambda r: self._upload_event(
                    principal,
                    purpose,
                    f"{_label(r)} kept: {r.size} members until {r.expires_at.date().isoformat()}; "
                    f"{report.rows_read} rows read, {report.rows_refused} refused",
                    "ok",
                    members,
                    release_id,
                ),
            )
        except CohortRefusedError as refused:
            return self._refused(principal, purpose, report, refused, release_id, members)
        return UploadResult(report, self._info(principal, row))

    def _refused(
        self,
        principal: Principal,
        purpose: str,
        report: ValidationReport,
        refusal: CohortRefusedError,
        release_id: str,
        members: Sequence[Member] = (),
    ) -> UploadResult:
        summary = f"cohort upload refused: {refusal.code}; {report.rows_read} rows read; nothing kept"
        self.trail.record(self._upload_event(principal, purpose, summary, "denied", members, release_id))
        return UploadResult(report, None, refusal)

    def _checked_request(self, request: UploadRequest) -> tuple[str, str, int]:
        problems: list[FieldProblem] = []
        purpose = _one_text("purpose", request.purpose, MAX_PURPOSE, problems, multiline=True)
        name = _default_name(request.filename) if not (request.name or "").strip() else request.name or ""
        name = _one_text("name", name, MAX_NAME, problems)
        days = self.settings.cohort_days if request.days is None else request.days
        if not 1 <= days <= self.settings.cohort_max_days:
            problems.append(
                FieldProblem("expiry_days", f"a whole number of days from 1 to {self.settings.cohort_max_days}")
            )
        if problems:
            raise InvalidInputError(problems)
        return name, purpose, days

    def _guard(self, pseudonyms: set[str]) -> store.Guard:
        key, minimum = self.trace_key(), self.settings.cohort_min_difference
        refusal = CohortRefusedError("too_close", {"minimum": minimum, "days": self.settings.cohort_guard_days})

        def guard(live: list[store.Overlap], traces: list[Trace]) -> None:
            if any(compare_counts(len(pseudonyms), o.size, o.shared).too_small(minimum) for o in live):
                raise refusal
            if any(compare_trace(key, pseudonyms, trace).too_small(minimum) for trace in traces):
                raise refusal

        return guard

    def trace_key(self) -> bytes:
        """The key of the guard's traces, from the app's secret key (always there, also without data)."""
        if self._key is None:
            self._key = trace_key(load_secret_key(self.settings))
        return self._key

    # --- reading -------------------------------------------------------------------------------
    @audits_refusals("access.denied", "open cohort {cohort_id}")
    def get(self, principal: Principal, cohort_id: str) -> CohortInfo:
        """A cohort's metadata and the counts of its report (owner, shared colleague, local administrator)."""
        return self._info(principal, self._visible(principal, cohort_id, admin=True))

    @audits_refusals("access.denied", "read the report of cohort {cohort_id}")
    def report(self, principal: Principal, cohort_id: str) -> ValidationReport:
        """The whole validation report kept with the cohort (line numbers and reasons, no CPR number)."""
        return load_report(self._visible(principal, cohort_id).report)

    @audits_refusals("cohort.use", "use cohort {cohort_id}")
    def population(self, principal: Principal, cohort_id: str, purpose: str | None = None) -> CohortPopulation:
        """The members of a cohort for an analysis: the owner or a colleague it is shared with, each
        holding ``individ``. Recorded as a use (``cohort.use``) with ``purpose`` (default: the cohort's)."""
        row = self._visible(principal, cohort_id)
        members = store.members_of(self.database, cohort_id)
        used_for = (purpose or "").strip() or row.purpose
        self.trail.record(
            AuditEvent(
                at=self.clock(),
                user=principal.user,
                organisation=str(principal.organisation),
                action="cohort.use",
                summary=safe_text(f"{_label(row)} used: {len(members)} members"),
                request_hash=request_hash(f"cohort|{row.id}"),
                scope="",
                rows_returned=len(members),
                purpose=safe_text(used_for),
                release_id=row.release_id or None,
            )
        )
        return CohortPopulation(
            id=row.id,
            name=row.name,
            owner=row.owner,
            organisation=row.organisation,
            purpose=row.purpose,
            created_at=row.created_at,
            expires_at=row.expires_at,
            members=tuple(members),
        )

    def check_counted(self, cohort: CohortPopulation, picked: Sequence[str | None] | None) -> None:
        """The differencing guard for figures of ``cohort`` (narrowed to its groups ``picked``):
        :func:`koes.services.cohort_guard.check_counted`."""
        check_counted(self.database, self.settings, self.trace_key(), cohort, picked, self.clock())

    def _visible(self, principal: Principal, cohort_id: str, *, admin: bool = False) -> CohortRow:
        row = store.get_cohort(self.database, cohort_id)
        if row is None or not (_sees(principal, row) or (admin and _administers(principal, row))):
            raise NotFoundError(NOT_FOUND)
        return row

    # --- changes -------------------------------------------------------------------------------
    @audits_refusals("cohort.share", "share cohort {cohort_id}")
    def share(self, principal: Principal, cohort_id: str, usernames: Sequence[str]) -> CohortInfo:
        """Share with colleagues of the same organisation who hold ``individ`` (the owner only)."""
        targets = self._colleagues(principal, usernames)
        now = self.clock()
        try:
            _, after = store.share_cohort(
                self.database,
                cohort_id,
                check=lambda r: _owned(principal, r),
                user_ids=targets,
                by=principal.user,
                at=now,
                event=lambda c: self._share_event(principal, now, c),
            )
        except LookupError:
            raise NotFoundError(NOT_FOUND) from None
        return self._info(principal, after)

    def _colleagues(self, principal: Principal, usernames: Sequence[str]) -> list[int]:
        if not principal.may(PERMISSION):
            raise ForbiddenError("cohorts need the individ role")
        names = [n.strip() for n in usernames if n.strip()]
        if not names:
            raise InvalidInputError([FieldProblem("users", "name at least one colleague")])
        ids: list[int] = []
        problems: list[FieldProblem] = []
        for i, name in enumerate(names):
            user = user_store.find_user(self.database, name)
            if user is None or user.organisation != str(principal.organisation):
                raise NotFoundError(f"no user {name!r} in your organisation")  # another organisation's: not found
            if user.id == principal.user_id:
                problems.append(FieldProblem(f"users[{i}]", "you own the cohort already"))
            elif not self.users.principal_for(user.id).may(PERMISSION):
                problems.append(FieldProblem(f"users[{i}]", f"{name} does not hold the individ role"))
            else:
                ids.append(user.id)
        if problems:
            raise InvalidInputError(problems)
        return ids

    @audits_refusals("cohort.delete", "delete cohort {cohort_id}")
    def delete(self, principal: Principal, cohort_id: str) -> CohortInfo:
        """Delete at once (the owner, or a local administrator of the organisation); what was deleted."""
        now = self.clock()
        row = self._delete(
            cohort_id,
            check=lambda r: _deletable(principal, r),
            at=now,
            event=lambda r: _cohort_event(
                principal.user, r, now, "cohort.delete", f"{_label(r)} deleted by {principal.user}"
            ),
        )
        return self._info(principal, row)

    def expire(self, now: datetime | None = None) -> int:
        """Delete every cohort past its expiry, and forget the guard's traces past theirs; how many cohorts."""
        at = now or self.clock()
        count = 0
        for cohort_id in store.expired_ids(self.database, at):
            try:
                self._delete(
                    cohort_id,
                    check=lambda r: None,
                    at=at,
                    event=lambda r: _cohort_event(SYSTEM, r, at, "cohort.expire", f"{_label(r)} expired and deleted"),
                )
                count += 1
            except LookupError:
                continue  # deleted by its owner meanwhile
        store.forget_traces(self.database, at)
        return count

    def _delete(self, cohort_id: str, **options: Any) -> CohortRow:
        key = self.trace_key()
        at: datetime = options["at"]
        try:
            return store.delete_cohort(
                self.database,
                cohort_id,
                trace=lambda pseudonyms: make_trace(key, pseudonyms),
                forget_at=at + timedelta(days=self.settings.cohort_guard_days),
                **options,
            )
        except LookupError:
            raise NotFoundError(NOT_FOUND) from None

    # Last: inside the class body, the name ``list`` means this method from here on.
    @audits_refusals("access.denied", "list cohorts")
    def list(self, principal: Principal) -> list[CohortInfo]:
        """The caller's own cohorts and those shared with it, newest first; a local administrator
        sees every cohort of its organisation (to delete one, never its members)."""
        if not (principal.may(PERMISSION) or principal.may(ADMIN_PERMISSION)):
            raise ForbiddenError("cohorts need the individ role")
        rows = store.visible_cohorts(
            self.database,
            str(principal.organisation),
            principal.user_id,
            all_of_org=principal.may(ADMIN_PERMISSION),
        )
        return [self._info(principal, r) for r in rows if _sees(principal, r) or _administers(principal, r)]

    # --- helpers -------------------------------------------------------------------------------
    def _info(self, principal: Principal, row: CohortRow) -> CohortInfo:
        return CohortInfo(
            id=row.id,
            name=row.name,
            owner=row.owner,
            organisation=row.organisation,
            purpose=row.purpose,
            created_at=row.created_at,
            expires_at=row.expires_at,
            size=row.size,
            release_id=row.release_id,
            shared_with=row.shared_with,
            owned=_is_owner(principal, row),
            deletable=_is_owner(principal, row) or _administers(principal, row),
            summary=_summary(load_report(row.report)),
        )

    def _upload_event(
        self,
        principal: Principal,
        purpose: str,
        summary: str,
        outcome: str,
        members: Sequence[Member] = (),
        release_id: str | None = None,
    ) -> AuditEvent:
        digest = hashlib.sha256(f"cohort-upload|{principal.organisation}|".encode())
        for pseudonym in sorted(m.pseudonym for m in members):  # keyed pseudonyms: nothing a CPR number is guessed from
            digest.update(pseudonym.encode("ascii"))
        return AuditEvent(
            at=self.clock(),
            user=principal.user,
            organisation=str(principal.organisation),
            action="cohort_upload",
            summary=safe_text(summary),
            request_hash=digest.hexdigest(),
            scope="",
            rows_returned=len(members) if outcome == "ok" else 0,
            purpose=safe_text(purpose),
            release_id=release_id or None,
            outcome=outcome,
        )

    def _share_event(
        self, principal: Principal, at: datetime, change: tuple[CohortRow, CohortRow]
    ) -> AuditEvent | None:
        before, after = change
        added = sorted(set(after.shared_with) - set(before.shared_with))
        if not added:
            return None
        return _cohort_event(
            principal.user, after, at, "cohort.share", f"{_label(after)} shared with {', '.join(added)}"
        )


# --- rules -----------------------------------------------------------------------------------------


def new_cohort_id() -> str:
    """128 random bits, URL-safe; drawn again in the rare case (about 1 in 10 million) that the id
    holds ten digits in a row, which the audit trail and the echo guard would take for a CPR number."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if mask_cpr(candidate) == candidate:
            return candidate


def _uploader(principal: Principal) -> tuple[int, int]:
    if not principal.may(PERMISSION):
        raise ForbiddenError("uploading a cohort needs the individ role")
    municipality = principal.home_municipality
    if municipality is None:
        raise ForbiddenError(message("not_a_municipality", "en"))
    if principal.user_id is None:
        raise ForbiddenError("only a user of the app keeps cohorts (give --user at the command line)")
    return municipality, principal.user_id


def _is_owner(principal: Principal, row: CohortRow) -> bool:
    return principal.user_id is not None and row.owner_id == principal.user_id


def _sees(principal: Principal, row: CohortRow) -> bool:
    """Owner or a colleague it is shared with, of the same organisation, still holding ``individ``."""
    if row.organisation != str(principal.organisation) or not principal.may(PERMISSION):
        return False
    return _is_owner(principal, row) or (principal.user_id is not None and principal.user_id in row.shared_ids)


def _administers(principal: Principal, row: CohortRow) -> bool:
    return row.organisation == str(principal.organisation) and principal.may(ADMIN_PERMISSION)


def _owned(principal: Principal, row: CohortRow) -> None:
    if not _sees(principal, row):
        raise NotFoundError(NOT_FOUND)
    if not _is_owner(principal, row):
        raise ForbiddenError("only the owner may share a cohort")


def _deletable(principal: Principal, row: CohortRow) -> None:
    if not (_sees(principal, row) or _administers(principal, row)):
        raise NotFoundError(NOT_FOUND)
    if not (_is_owner(principal, row) or _administers(principal, row)):
        raise ForbiddenError("only the owner or a local administrator may delete a cohort")


def _one_text(name: str, value: str, limit: int, problems: list[FieldProblem], *, multiline: bool = False) -> str:
    clean = (value or "").strip()
    if not 1 <= len(clean) <= limit:
        problems.append(FieldProblem(name, f"is required: 1–{limit} characters"))
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in clean):
        problems.append(FieldProblem(name, "must be plain text, without control characters"))
    if mask_cpr(clean) != clean:  # it reaches the audit trail and colleagues' lists
        problems.append(FieldProblem(name, "must not contain a CPR-shaped number"))
    return clean


def _default_name(filename: str | None) -> str:
    # A browser may send a Windows path ("C:\\fakepath\\x.csv"): the last part, without its extension.
    stem = Path((filename or "").replace("\\", "/").rsplit("/", 1)[-1]).stem.strip()
    return stem if stem and mask_cpr(stem) == stem else "Kohorte"


def _label(row: CohortRow) -> str:
    return f'cohort {row.id} "{row.name}"'


def _cohort_event(user: str, row: CohortRow, at: datetime, action: str, summary: str) -> AuditEvent:
    return AuditEvent(
        at=at,
        user=user,
        organisation=row.organisation,
        action=action,
        summary=safe_text(summary),
        request_hash=request_hash(f"cohort|{row.id}"),
        scope="",
        purpose=safe_text(row.purpose),
        release_id=row.release_id or None,
    )


def _summary(report: ValidationReport) -> dict[str, Any]:
    return {
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "rows_refused": report.rows_refused,
        "refused_by_category": report.refused_by_category(),
        "notes": {k: len(v) for k, v in report.notes.items() if v},
        "groups": dict(report.groups),
        "own_citizens": report.linked.own_citizens if report.linked else None,
        "reference_date": report.linked.reference_date if report.linked else None,
    }


def _kept_note(cohort: CohortInfo, language: str) -> str:
    return message("kept", language, expires=cohort.expires_at.date().isoformat())
