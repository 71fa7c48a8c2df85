"""The data status of the warehouse for administrators: releases, row accounting, quarantine summary.

Everything comes from what a load wrote into each release (``manifest.json`` and
``quarantine.csv``); nothing is recomputed or guessed. Freshness per register is the end of the
release's extract period: the manifest records no latest event date per register, and the page
says so rather than inventing one.

The quarantine summary counts problems per register × column × kind of reason. Reasons may quote
the offending value (a code, a date); those quoted values are masked here, so no row value reaches
a page. Reading the status is a data access and is recorded (``status.view``).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.services.audit import AuditTrail, safe_text
from koes.services.errors import ForbiddenError
from koes.settings import Settings
from koes.storage.releases import Release, ReleaseStore

PERMISSION = "view_data_status"
TOP_GROUPS = 20
QUARANTINE_FILE = "quarantine.csv"
SHA_SHOWN = 12  # enough to tell files apart on a screen; the manifest keeps the whole hash
# A value as the load quotes it ('…', at most 40 characters, quotes inside not escaped): it ends at
# a quote followed by a space, a closing bracket, punctuation or the end of the reason.
_QUOTED = re.compile(r"'.{0,40}?'(?=[\s),;:.]|$)", re.DOTALL)
_ROW_NUMBER = re.compile(r"\brow \d+")
MASK = "…"


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    created: datetime
    current: bool
    period_start: date
    period_end: date
    code_version: str
    rows_loaded: int


@dataclass(frozen=True)
class SourceFile:
    name: str
    format: str | None  # as detected at the load ("CSV, utf-8, comma-separated"); None if not recorded
    sha256: str  # the first SHA_SHOWN hex digits


@dataclass(frozen=True)
class RegisterStatus:
    register: str
    files: tuple[SourceFile, ...]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    fresh_until: date  # the extract period's end: no later date per register is recorded


@dataclass(frozen=True)
class QuarantineGroup:
    register: str
    column: str  # "" when the whole row is at fault (malformed CSV, wrong number of fields)
    reason: str  # the reason with quoted values masked
    count: int


@dataclass(frozen=True)
class QuarantineSummary:
    top: tuple[QuarantineGroup, ...]  # the largest groups, at most TOP_GROUPS
    groups: int  # all groups
    problems: int  # all problems (a row may have more than one)

    @property
    def others(self) -> int:
        """Problems in the groups not shown."""
        return self.problems - sum(g.count for g in self.top)


@dataclass(frozen=True)
class DataStatus:
    releases: tuple[ReleaseInfo, ...]  # newest first
    current: ReleaseInfo | None
    registers: tuple[RegisterStatus, ...]
    quarantine: QuarantineSummary | None  # None: no current release, or it has no quarantine file


def view_status(settings: Settings, trail: AuditTrail, principal: Principal) -> DataStatus:
    """The data status for a principal holding ``view_data_status``; recorded before it is returned."""
    if not principal.may(PERMISSION):
        raise ForbiddenError(f"needs {PERMISSION}")
    status = read_status(ReleaseStore(settings.warehouse))
    trail.record(status_event(principal, status))
    return status


def read_status(store: ReleaseStore) -> DataStatus:
    current = store.current()
    releases = [release_info(r, r.manifest(), current) for r in reversed(store.releases())]
    if current is None:
        return DataStatus(tuple(releases), None, (), None)
    manifest = current.manifest()
    now = next((r for r in releases if r.current), None) or release_info(current, manifest, current)
    return DataStatus(tuple(releases), now, tuple(register_status(manifest)), quarantine_summary(current))


def release_info(release: Release, manifest: Mapping[str, Any], current: Release | None) -> ReleaseInfo:
    period = manifest["extract_period"]
    return ReleaseInfo(
        id=release.id,
        created=datetime.fromisoformat(manifest["created"]),
        current=current is not None and current.id == release.id,
        period_start=date.fromisoformat(period["start"]),
        period_end=date.fromisoformat(period["end"]),
        code_version=str(manifest.get("code_version", "")),
        rows_loaded=sum(int(v["loaded"]) for v in manifest["row_accounting"].values()),
    )


def register_status(manifest: Mapping[str, Any]) -> Iterator[RegisterStatus]:
    """One entry per register of the row accounting, in the manifest's order, with its source files."""
    end = date.fromisoformat(manifest["extract_period"]["end"])
    files: dict[str, list[SourceFile]] = {}
    for f in manifest.get("source_files", []):
        files.setdefault(f["register"], []).append(
            SourceFile(str(f["file"]), f.get("format") or None, str(f.get("sha256", ""))[:SHA_SHOWN])
        )
    for register, counts in manifest["row_accounting"].items():
        yield RegisterStatus(
            register=register,
            files=tuple(files.get(register, ())),
            rows_read=int(counts["in"]),
            rows_loaded=int(counts["loaded"]),
            rows_quarantined=int(counts["quarantined"]),
            fresh_until=end,
        )


def quarantine_summary(release: Release) -> QuarantineSummary | None:
    path = release.folder / QUARANTINE_FILE
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        return summarise(csv.DictReader(f))


def summarise(rows: Iterable[Mapping[str, str]]) -> QuarantineSummary:
    """Problems counted per register × column × masked reason; the largest groups first."""
    counts = Counter((r["register"], r["column"], mask_reason(r["reason"])) for r in rows)
    # Ties broken by name so the page does not reorder itself between two views.
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = tuple(QuarantineGroup(reg, col, reason, n) for (reg, col, reason), n in ordered[:TOP_GROUPS])
    return QuarantineSummary(top, len(counts), sum(counts.values()))


def mask_reason(reason: str) -> str:
    """The reason without the values it quotes (and without file row numbers, which split groups).

    If a quote is left after masking (a value holding a quote and a space), the reason is cut at
    its first quote: what comes before the first value is always the load's own wording."""
    masked = _ROW_NUMBER.sub(f"row {MASK}", _QUOTED.sub(MASK, reason))
    if "'" in masked:
        head = reason.split("'", 1)[0]
        masked = _ROW_NUMBER.sub(f"row {MASK}", head).rstrip(" :") + f" {MASK}"
    return " ".join(masked.split())


def status_event(principal: Principal, status: DataStatus) -> AuditEvent:
    release = status.current.id if status.current else None
    what = {"page": "data status", "release": release}
    return AuditEvent(
        at=datetime.now(UTC),
        user=principal.user,
        organisation=str(principal.organisation),
        action="status.view",
        summary=safe_text(f"data status; release {release or 'none'}; {len(status.releases)} release(s)"),
        request_hash=request_hash(json.dumps(what, sort_keys=True)),
        scope="",
        rows_returned=len(status.registers),
        release_id=release,
    )
