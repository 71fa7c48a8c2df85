"""Keeping a 100,000-person cohort in the app database, measured in its own process.

``python -m benchmarks.cohort_store [DATA_DIR]`` (default: a temporary folder; SQLite there, or
``KOES_APP_DB_URL``). What comes after ``check_cohort_file`` (benchmarks/cohorts.py): the
differencing guard against the organisation's other cohorts and the insert of the members, one
transaction; reading the members back for an analysis (``population``); and a deletion, which
leaves the guard's Bloom-filter trace. Members are made-up pseudonyms (the store never sees a CPR
number), so no warehouse is needed. Prints one JSON line, times in seconds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from koes.appdb import cohorts as store
from koes.appdb.cohorts import NewCohort
from koes.cohorts.guard import make_trace
from koes.cohorts.rows import Member
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_store import CohortService
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings

PERSONS = 100_000
ORGANISATION = "kommune:101"


def _members(count: int, start: int) -> list[Member]:
    return [
        Member(i + 2, hashlib.sha256(f"p{start + i}".encode()).hexdigest(), date(1950, 1, 1), "1", date(2023, 1, 1))
        for i in range(count)
    ]


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return round(time.perf_counter() - started, 2)


def main(data_dir: Path) -> dict[str, float]:
    settings = Settings.from_env(data_dir=data_dir)
    database = open_app_database(settings)
    trail = AuditTrail(database)
    users = UserService(trail)
    owner = users.create_user(OPERATOR, f"bench-{secrets.token_hex(4)}", organisation=ORGANISATION).id
    service = CohortService(settings, trail, users)
    now = datetime.now(UTC)

    def keep(cohort_id: str, members: list[Member]) -> None:
        cohort = NewCohort(cohort_id, ORGANISATION, owner, "bench", "bench", now, now + timedelta(days=90), "r", "{}")
        guard = service._guard({m.pseudonym for m in members})  # the guard as an upload runs it
        since = now - timedelta(days=settings.cohort_guard_days)
        store.insert_cohort(database, cohort, members, guard=guard, traces_since=since, event=lambda _: None)

    first, second, third = (secrets.token_urlsafe(16) for _ in range(3))
    key = service.trace_key()
    results = {
        "keep_alone": _timed(lambda: keep(first, _members(PERSONS, 0))),
        "keep_beside_live": _timed(lambda: keep(second, _members(PERSONS, PERSONS // 2))),
        "read_members": _timed(lambda: store.members_of(database, first)),
        "delete_with_trace": _timed(
            lambda: store.delete_cohort(
                database,
                first,
                check=lambda _: None,
                trace=lambda pseudonyms: make_trace(key, pseudonyms),
                at=now,
                forget_at=now + timedelta(days=90),
                event=lambda _: None,
            )
        ),
        "keep_beside_live_and_trace": _timed(lambda: keep(third, _members(PERSONS, 2 * PERSONS))),
    }
    database.dispose()
    return results


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="koes-bench-"))
    print(json.dumps({"persons": PERSONS, "database": "app database", **main(folder)}))
