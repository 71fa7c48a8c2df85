"""The scheduled turn that deletes what has outlived its time: expired cohorts first, then ended
jobs past ``job_retention_hours`` and the results of jobs whose cohort is gone (in that order, so
a cohort that expires in a turn takes its jobs' results with it in the same turn).

``koes serve`` makes a turn at start-up, before the first request, and then every
:data:`~koes.services.cohort_store.EXPIRE_EVERY` in a daemon thread. A failed part is logged and
tried again at the next turn: it must never take the app down, nor stop the other part.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from koes.services.cohort_store import EXPIRE_EVERY, CohortService
from koes.services.jobs import JobService

log = logging.getLogger(__name__)


def expire_and_sweep(cohorts: CohortService, jobs: JobService) -> None:
    """One turn: expired cohorts deleted, then old jobs and orphaned results."""
    try:
        count = cohorts.expire()
        if count:
            log.info("deleted %d expired cohort(s)", count)
    except Exception:
        log.warning("deleting expired cohorts failed", exc_info=True)
    try:
        swept = jobs.sweep()
        if swept.jobs_deleted or swept.results_forgotten:
            log.info(
                "deleted %d ended job(s) and %d result(s) of deleted cohorts",
                swept.jobs_deleted,
                swept.results_forgotten,
            )
    except Exception:
        log.warning("deleting old jobs failed", exc_info=True)


def start_expiry(
    cohorts: CohortService, jobs: JobService, stop: threading.Event, every: timedelta = EXPIRE_EVERY
) -> threading.Thread:
    """Make a turn every ``every`` in a daemon thread until ``stop`` is set (the first turn is
    the caller's, at start-up)."""

    def turns() -> None:
        while not stop.wait(every.total_seconds()):
            expire_and_sweep(cohorts, jobs)

    thread = threading.Thread(target=turns, name="koes-expiry", daemon=True)
    thread.start()
    return thread
