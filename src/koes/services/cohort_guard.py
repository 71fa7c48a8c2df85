"""The differencing guard for a cohort's figures (Advanced).

A filter on the cohort's groups narrows the persons its figures count. Those persons must not
differ by fewer than ``cohort_min_difference`` from a group already open to the organisation's
users: the whole cohort, each other live cohort of the organisation and each of
its groups (counted by the database, no other cohort's members read here), and the traces of the
cohorts deleted in the last ``cohort_guard_days``. Otherwise one figure minus the other would be
the figure of a handful of persons. The upload guard (:mod:`koes.cohorts.guard`) compares whole
cohorts; this one the sets that figures are actually made of.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from koes.appdb import cohorts as store
from koes.appdb.database import AppDatabase
from koes.cohorts.guard import counted_too_close
from koes.cohorts.population import CohortPopulation
from koes.query.request import FieldProblem, RequestError
from koes.settings import Settings

CODE = "cohort_too_close"


def check_counted(
    database: AppDatabase,
    settings: Settings,
    key: bytes,
    cohort: CohortPopulation,
    picked: Sequence[str | None] | None,
    now: datetime,
) -> None:
    """Refuse (``RequestError`` on ``cohort``) figures of ``cohort``'s groups ``picked`` (None: the
    whole cohort) that differ from a published group by fewer than ``cohort_min_difference``."""
    minimum = settings.cohort_min_difference
    groups: dict[str | None, set[str]] = defaultdict(set)
    for member in cohort.members:
        groups[member.group].add(member.pseudonym)
    counted = {p for g, members in groups.items() if picked is None or g in picked for p in members}
    # Of the cohort itself only the whole is published beside a narrowing: another narrowing differs
    # from this one by whole groups, each of at least ``cohort_min_size`` when its figures are shown.
    published = [{m.pseudonym for m in cohort.members}] if picked is not None else []
    overlaps = store.group_overlaps(database, cohort.organisation, cohort.id, picked)
    counts = [(o.size, o.shared) for o in overlaps]
    wholes: dict[str, tuple[int, int]] = {}
    for o in overlaps:
        size, shared = wholes.get(o.cohort_id, (0, 0))
        wholes[o.cohort_id] = (size + o.size, shared + o.shared)
    traces = store.recent_traces(database, cohort.organisation, now - timedelta(days=settings.cohort_guard_days))
    if counted_too_close(counted, published, counts + list(wholes.values()), traces, key, minimum):
        raise RequestError([too_close(minimum)])


def too_close(minimum: int) -> FieldProblem:
    return FieldProblem(
        "cohort",
        f"the persons these figures count differ from another group of your organisation's cohorts by fewer "
        f"than {minimum}: subtracting one figure from the other would show a handful of persons "
        "(cohort_min_difference)",
        CODE,
        (("minimum", str(minimum)),),
    )
