"""A large cohort's profile and before-and-after series as background jobs (:mod:`koes.services.jobs`).

A cohort of at least ``cohort_job_members`` members (settings) is analysed in a job: the page and
the API answer at once with the job, and show its progress until the answer is there. The work is
the very same service call as for a small cohort (``cohort_profile``, ``cohort_series``): scoped,
through disclosure control, audited with the cohort's purpose when it runs.
"""

from __future__ import annotations

from koes.privacy.access import Principal
from koes.services.analysis import AnalysisService
from koes.services.cohort_profile import cohort_profile
from koes.services.cohort_series import cohort_series
from koes.services.jobs import Progress, Work

PROFILE, SERIES = "cohort_profile", "cohort_series"


def runs_as_job(service: AnalysisService, principal: Principal, cohort_id: str) -> bool:
    """Whether the cohort is large enough for a job (an unknown cohort is not: it is answered at once)."""
    if service.cohorts is None:
        return False
    sizes = {c.id: c.size for c in service.cohorts.cohorts(principal)}
    return cohort_id in sizes and sizes[cohort_id] >= service.settings.cohort_job_members


def profile_work(service: AnalysisService, principal: Principal, cohort_id: str, language: str) -> Work:
    def work(progress: Progress) -> tuple[dict[str, object], object]:
        profile = cohort_profile(service, principal, cohort_id, language, progress)
        return profile.to_json(language), profile

    return work


def series_work(
    service: AnalysisService, principal: Principal, cohort_id: str, measure: str, months: int | None, language: str
) -> Work:
    def work(progress: Progress) -> tuple[dict[str, object], object]:
        series = cohort_series(service, principal, cohort_id, measure, months, language, progress)
        return series.to_json(), series

    return work
