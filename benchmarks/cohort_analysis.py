"""A 100,000-person cohort from upload to figures, measured in its own process.

``python -m benchmarks.cohort_analysis EXTRACTS DATA_DIR``: writes the upload as Danish Excel saves
a CSV (``benchmarks.cohorts.write_csv``, persons drawn from the CPR extract the warehouse was
loaded from), then times, through the services the web app uses:

- **upload**: ``CohortService.upload``: reading, validation, pseudonymisation, linkage to the
  current release, the differencing guard and keeping the members (a fresh SQLite app database
  for each run), as one user of København holding ``individ``;
- **profile**: ``cohort_profile``, every figure through the one path (first run: a cold cache);
- **series**: ``cohort_series`` of contacts 12 months before and after the index dates, per group.

Prints one JSON line, times in seconds.
"""

from __future__ import annotations

import io
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from benchmarks.cohorts import MUNICIPALITY, PERSONS, _persons, write_csv
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_population import StoredCohorts
from koes.services.cohort_profile import cohort_profile
from koes.services.cohort_series import cohort_series
from koes.services.cohort_store import CohortService, UploadRequest
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings

T = TypeVar("T")


def _timed(work: Callable[[], T]) -> tuple[T, float, float]:
    began, cpu_began = time.perf_counter(), time.process_time()
    value = work()
    return value, round(time.perf_counter() - began, 2), round(time.process_time() - cpu_began, 2)


def measure(extracts: Path, data_dir: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="koes-cohort-app-") as app_dir:
        # A fresh app database each run: cohorts kept by an earlier run would sit beside this one
        # in the differencing guard and make the runs unlike each other.
        settings = Settings(data_dir=data_dir, threads=2, memory_limit="4GB", app_db_url=f"sqlite:///{app_dir}/app.db")
        return _measure(extracts, settings)


def _measure(extracts: Path, settings: Settings) -> dict[str, object]:
    database = open_app_database(settings)
    trail = AuditTrail(database)
    users = UserService(trail)
    created = users.create_user(OPERATOR, f"bench-{secrets.token_hex(4)}", organisation=f"kommune:{MUNICIPALITY}")
    users.grant(OPERATOR, created.id, "individ")
    principal = users.principal_for(created.id)
    store = CohortService(settings, trail, users)
    analysis = AnalysisService(settings, audit=trail, cohorts=StoredCohorts(store))
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="koes-cohort-") as tmp:
        path = write_csv(Path(tmp) / "cohort.csv", _persons(extracts, PERSONS))
        content = io.BytesIO(path.read_bytes())  # as the web app holds an upload: in memory
    request = UploadRequest(purpose="benchmark", name="benchmark")
    uploaded, upload_s, upload_cpu = _timed(lambda: store.upload(principal, content, request))
    assert uploaded.cohort is not None, uploaded.refusal
    cohort_id = uploaded.cohort.id
    profile, profile_s, profile_cpu = _timed(lambda: cohort_profile(analysis, principal, cohort_id))
    series, series_s, series_cpu = _timed(lambda: cohort_series(analysis, principal, cohort_id, "kontakter", 12))
    analysis.close()
    database.dispose()
    return {
        "rows": uploaded.report.rows_read,
        "kept": uploaded.cohort.size,
        "own_citizens": uploaded.report.linked.own_citizens if uploaded.report.linked else 0,
        "upload_seconds": upload_s,
        "upload_cpu_seconds": upload_cpu,
        "profile_seconds": profile_s,
        "profile_cpu_seconds": profile_cpu,
        "profile_members": profile.members,
        "series_seconds": series_s,
        "series_cpu_seconds": series_cpu,
        "series_months": series.months,
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
        "load_average": round(load_average, 2),
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
