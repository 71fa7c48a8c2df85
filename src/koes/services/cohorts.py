"""Cohort use cases. This round: check an uploaded CPR population (validate, pseudonymise, link, report).

``check_cohort_file`` reads the file, checks every row, pseudonymises valid CPR numbers with the
warehouse's key, links the pseudonyms to the current release and returns the validation report
with the members (pseudonyms, index dates, groups, own references). Nothing is stored: the file
is read from where it lies and the CPR numbers live only in memory, row by row. With an audit
trail, the check writes one record (``cohort_upload``) whatever its outcome, without a CPR number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from koes.cohorts.limits import UploadLimits, UploadRefused
from koes.cohorts.messages import message
from koes.cohorts.report import ValidationReport
from koes.cohorts.rows import Member
from koes.cohorts.upload import CheckedFile, link_members, read_cohort_file
from koes.engines.duckdb import DuckDBEngine
from koes.privacy.audit import AuditEvent
from koes.privacy.pseudonymisation import Pseudonymiser, load_or_create_key
from koes.refdata import load_refdata
from koes.services.audit import AuditTrail
from koes.settings import Settings
from koes.storage.releases import Release, ReleaseStore

__all__ = ["CohortCheck", "CohortRefusedError", "check_cohort_file"]


class CohortRefusedError(Exception):
    """The file (or the request) is refused whole; ``text(language)`` says why and what to do."""

    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.params = params or {}

    def text(self, language: str = "da") -> str:
        return message(self.code, language, **self.params)


@dataclass(frozen=True)
class CohortCheck:
    report: ValidationReport
    members: tuple[Member, ...]  # pseudonyms, never CPR numbers


@dataclass(frozen=True)
class CheckRequest:
    municipality: int
    sheet: str | None = None
    reference_date: date | None = None  # default: the last day of the release (or today, if earlier)
    today: date | None = None  # the day birth dates must not be after; default: today
    user: str = "lokal"
    purpose: str | None = None


def check_cohort_file(
    settings: Settings, file: Path | BinaryIO, request: CheckRequest, audit: AuditTrail | None = None
) -> CohortCheck:
    """Validate, pseudonymise and link a CSV or XLSX file of CPR numbers; raises ``CohortRefusedError``."""
    release: Release | None = None
    try:
        release = _release(settings, request.municipality)
        pseudonymiser = Pseudonymiser(_key(settings))
        today = request.today or date.today()
        limits = UploadLimits.from_settings(settings)
        if isinstance(file, Path):
            with file.open("rb") as stream:
                checked = read_cohort_file(
                    stream, pseudonymiser=pseudonymiser, today=today, limits=limits, sheet=request.sheet
                )
        else:
            checked = read_cohort_file(
                file, pseudonymiser=pseudonymiser, today=today, limits=limits, sheet=request.sheet
            )
        checked = _link(settings, release, checked, request, today)
    except (UploadRefused, CohortRefusedError) as refused:
        error = refused if isinstance(refused, CohortRefusedError) else CohortRefusedError(refused.code, refused.params)
        if audit is not None:
            audit.record(_event(request, release, f"cohort check refused: {error.code}; nothing kept", "denied"))
        raise error from None
    report = checked.report()
    if audit is not None:
        summary = (
            f"cohort check ({report.source.get('format')}): {report.rows_read} rows read, {report.rows_kept} kept, "
            f"{report.rows_refused} refused; nothing kept"
        )
        audit.record(_event(request, release, summary, "ok", checked.members, report.rows_kept))
    return CohortCheck(report, tuple(checked.members))


def _release(settings: Settings, municipality: int) -> Release:
    if not any(m.code == municipality for m in load_refdata().municipalities):
        raise CohortRefusedError("unknown_municipality", {"kommunekode": municipality})
    release = ReleaseStore(settings.warehouse).current()
    if release is None:
        raise CohortRefusedError("no_release")
    return release


def _key(settings: Settings) -> bytes:
    if not settings.pseudonym_key.exists():
        # A new key would give pseudonyms that match nobody in the release: never create one here.
        raise CohortRefusedError("no_key", {"path": str(settings.pseudonym_key)})
    return load_or_create_key(settings.pseudonym_key)


def _link(
    settings: Settings, release: Release, checked: CheckedFile, request: CheckRequest, today: date
) -> CheckedFile:
    last_day = date.fromisoformat(release.manifest()["extract_period"]["end"])
    reference = request.reference_date or min(last_day, today)
    engine = DuckDBEngine(
        release.serving_file, release.id, threads=settings.threads, memory_limit=settings.memory_limit
    )
    try:
        return link_members(checked, engine, request.municipality, reference, last_day)
    finally:
        engine.close()


def _event(
    request: CheckRequest,
    release: Release | None,
    summary: str,
    outcome: str,
    members: list[Member] | None = None,
    rows: int = 0,
) -> AuditEvent:
    # The request hash names the cohort by its pseudonyms (keyed), never by anything a CPR number could be guessed from.
    digest = hashlib.sha256()
    digest.update(f"cohort-check|{request.municipality}|{request.sheet or ''}|".encode())
    for member in sorted(members or [], key=lambda m: m.pseudonym):
        digest.update(member.pseudonym.encode("ascii"))
    return AuditEvent(
        at=datetime.now(UTC),
        user=request.user,
        organisation=f"kommune:{request.municipality}",
        action="cohort_upload",
        summary=summary,
        request_hash=digest.hexdigest(),
        scope="",
        rows_returned=rows,
        purpose=request.purpose,
        release_id=release.id if release else None,
        outcome=outcome,
    )
