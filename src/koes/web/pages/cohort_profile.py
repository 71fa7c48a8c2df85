"""A cohort's pages: the profile ``GET /avanceret/{id}``, before-and-after
``GET /avanceret/{id}/foer-efter`` and the own citizens' rows ``GET /avanceret/{id}/personer``
(with ``.csv``, view-only columns left out) (Advanced; need ``individual_rows``).

The page lays out ``koes.services.cohort_profile.cohort_profile``: the members by age and sex and
by region, chronic conditions, care and benefits as shares of the cohort, and the use per
member-year beside the expected use from the user's municipality and the whole country, with
intervals and a plain reading. Every number is a published figure (disclosure control) or
computed from published figures only. The before-and-after page draws the monthly use per 100
members around each person's own index date (``koes.services.cohort_series``) with charts.js, and
the table behind the chart. A cohort the user may not use is the 404 page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.query.request import RequestError
from koes.semantic.members import label_of
from koes.services.analysis import AnalysisFailedError, AnalysisService, NoReleaseError
from koes.services.cohort_individuals import individual_table
from koes.services.cohort_jobs import PROFILE, SERIES, profile_work, series_work
from koes.services.cohort_population import CohortNotFoundError
from koes.services.cohort_profile import Figure, Profile, UseFigure, cohort_profile
from koes.services.cohort_series import ALL, MEASURES, Series, cohort_series
from koes.services.disclosure import CellStatus
from koes.services.errors import ForbiddenError
from koes.services.jobs import Work
from koes.services.sessions import WebSession
from koes.web import views
from koes.web.formats import number
from koes.web.i18n import Translator
from koes.web.pages.analyse import problem_text
from koes.web.pages.common import Pages, error_page, lang_of, refused, render, signed_in, user_view
from koes.web.pages.figures import provenance
from koes.web.pages.forms import Option, Select
from koes.web.pages.jobs import job_step

router = APIRouter(include_in_schema=False)
PERMISSION = "individual_rows"
T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What a cohort page's work gave: its value, or (``explain``) the problems that stopped it."""

    pages: Pages
    session: WebSession
    principal: Principal
    service: AnalysisService
    lang: str
    value: T | None
    problems: list[str] = field(default_factory=list)


async def _cohort_work(
    request: Request, work: Callable[[AnalysisService, Principal, str], T], *, explain: bool = False
) -> Outcome[T] | Response:
    """Sign-in, permission and the one way every cohort page answers a failure: an unknown cohort is
    404, no release 503, a refusal the 403 page; with ``explain`` a request the analysis refuses
    (too small a cohort) becomes problems shown on the page instead of an error."""
    pages, session, principal = await signed_in(request)
    if not principal.may(PERMISSION):
        return await refused(request, pages, principal, PERMISSION)
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    lang = lang_of(request)
    outcome: Outcome[T] = Outcome(pages, session, principal, service, lang, None)
    try:
        outcome.value = await run_in_threadpool(work, service, principal, lang)
    except CohortNotFoundError:
        return error_page(request, 404, "cohort_unknown")
    except NoReleaseError:
        return error_page(request, 503, "no_release")
    except ForbiddenError as error:
        return await refused(request, pages, principal, PERMISSION, error)
    except RequestError as error:
        if not explain:
            raise
        outcome.problems = [problem_text(p, service.catalog, lang) for p in error.problems]
    except AnalysisFailedError:
        return error_page(request, 500)
    return outcome


@dataclass(frozen=True)
class ShareRow:
    label: str
    value: str
    share: str


@dataclass(frozen=True)
class UseRow:
    label: str
    observed: str
    per_member_year: str
    references: list[dict[str, str]]  # per reference: expected per member-year, ratio, interval, reading


@router.get("/avanceret/{cohort_id}")
async def profile_page(request: Request, cohort_id: str) -> Response:
    def make_work(service: AnalysisService, principal: Principal, lang: str) -> Work:
        return profile_work(service, principal, cohort_id, lang)

    job = await job_step(request, cohort_id, PROFILE, make_work, "cohort.profile_title")
    if isinstance(job, Response):
        return job

    def work(service: AnalysisService, principal: Principal, lang: str) -> Profile:
        return cast(Profile, job.answer()) if job is not None else cohort_profile(service, principal, cohort_id, lang)

    outcome = await _cohort_work(request, work, explain=True)
    if isinstance(outcome, Response):
        return outcome
    profile, lang = outcome.value, outcome.lang
    user = await run_in_threadpool(user_view, outcome.pages, outcome.principal, lang)
    context = _context(profile, lang) if profile else {"profile": None}
    return render(
        request,
        "cohort_profile.html",
        title_key="cohort.profile_title",
        session=outcome.session,
        user=user,
        problems=outcome.problems,
        cohort_id=cohort_id,
        **context,
    )


def _context(profile: Profile, lang: str) -> dict[str, Any]:
    t = Translator(lang)
    return {
        "profile": profile,
        "members": number(profile.members, lang=lang),
        "member_years": _value(profile.member_years, 0, lang),
        "age_sex": views.table(profile.age_sex, lang, downloadable_only=False),
        "residence": views.table(profile.residence, lang, downloadable_only=False),
        "conditions": [_share(f, lang) for f in profile.conditions],
        "care": [_share(f, lang) for f in profile.care_and_benefits],
        "use": [_use(u, profile, lang, t) for u in profile.use],
        "reference_names": profile.references,
        **provenance([profile.age_sex], lang),
    }


_SHOWN_AS: dict[str, str] = {CellStatus.PRIMARY: "<5", CellStatus.SECONDARY: "x", CellStatus.DERIVED: "x"}


def _value(value: float | None, decimals: int, lang: str, status: str = "ok") -> str:
    if value is None:
        return _SHOWN_AS.get(status, "–")
    return number(value, decimals, lang)


def _share(figure: Figure, lang: str) -> ShareRow:
    share = "–" if figure.share is None else number(100 * figure.share, 1, lang) + " %"
    return ShareRow(figure.label, _value(figure.value, 0, lang, figure.status), share)


def _use(use: UseFigure, profile: Profile, lang: str, t: Translator) -> UseRow:
    decimals = 0 if use.unit == "kr" else 2
    references = []
    for area, comparison in use.references.items():
        interval = (
            f"{number(comparison.low, 2, lang)}–{number(comparison.high, 2, lang)}"
            if comparison.low is not None and comparison.high is not None
            else t("cohort.no_interval")
        )
        references.append(
            {
                "name": profile.references[area],
                "expected": _value(use.expected_per_member_year(area), decimals, lang),
                "ratio": _value(comparison.ratio, 2, lang),
                "interval": interval,
                "reading": use.readings[area],
            }
        )
    return UseRow(use.label, _value(use.observed, 0, lang), _value(use.per_member_year, decimals, lang), references)


@router.get("/avanceret/{cohort_id}/foer-efter")
async def series_page(request: Request, cohort_id: str) -> Response:
    measure = request.query_params.get("measure", "kontakter")
    measure = measure if measure in MEASURES else "kontakter"
    months_text = request.query_params.get("months", "")
    months = int(months_text) if months_text.isdigit() else None

    def make_work(service: AnalysisService, principal: Principal, lang: str) -> Work:
        return series_work(service, principal, cohort_id, measure, months, lang)

    job = await job_step(request, cohort_id, SERIES, make_work, "cohort.series_title")
    if isinstance(job, Response):
        return job

    def work(service: AnalysisService, principal: Principal, lang: str) -> Series:
        if job is not None:
            return cast(Series, job.answer())
        return cohort_series(service, principal, cohort_id, measure, months, lang)

    outcome = await _cohort_work(request, work, explain=True)
    if isinstance(outcome, Response):
        return outcome
    series, lang, service = outcome.value, outcome.lang, outcome.service
    user = await run_in_threadpool(user_view, outcome.pages, outcome.principal, lang)
    t = Translator(lang)
    options = [
        Option(m, service.catalog.measures[m].label.get(lang) + f" ({p})", m == measure) for m, p in MEASURES.items()
    ]
    context: dict[str, Any] = {"series": series, "problems": outcome.problems, "cohort_id": cohort_id}
    context["measure_select"] = Select("measure", t("cohort.series_measure"), options)
    context["months"] = series.months if series else (months or service.settings.cohort_months)
    if series is not None:
        context.update(_series_context(series, lang, t))
    return render(
        request, "cohort_series.html", title_key="cohort.series_title", session=outcome.session, user=user, **context
    )


def _series_context(series: Series, lang: str, t: Translator) -> dict[str, Any]:
    x = [str(p.month) for p in next(iter(series.lines.values()))]
    traces = [
        {
            "name": t("cohort.all_members") if group == ALL else group,
            "x": x,
            "y": [p.per_100 for p in points],
            "text": [_value(p.per_100, 1, lang, p.status) for p in points],
        }
        for group, points in series.lines.items()
    ]
    title = t("cohort.series_chart", measure=series.label, months=series.months)
    data = {"kind": "line", "traces": traces, "title": title, "separators": ",." if lang == "da" else ".,"}
    rows = [
        [str(month)]
        + [
            f"{_value(points[i].count, 0, lang, points[i].status)} / {number(points[i].members, lang=lang)}"
            f" = {_value(points[i].per_100, 1, lang, points[i].status)}"
            for points in series.lines.values()
        ]
        for i, month in enumerate(x)
    ]
    difference = series.difference
    return {
        "chart_data": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
        "chart_title": title,
        "table_header": [t("cohort.col.month")] + [trace["name"] for trace in traces],
        "table_rows": rows,
        "difference": None
        if difference is None
        else t(
            "cohort.difference",
            first=difference.first,
            second=difference.second,
            value=number(difference.value, 2, lang),
            low=number(difference.low, 2, lang),
            high=number(difference.high, 2, lang),
        ),
        **provenance([series.result], lang),
    }


@router.get("/avanceret/{cohort_id}/personer")
async def individuals_page(request: Request, cohort_id: str) -> Response:
    outcome = await _cohort_work(
        request, lambda service, principal, _lang: individual_table(service, principal, cohort_id)
    )
    if isinstance(outcome, Response):
        return outcome
    table, lang = outcome.value, outcome.lang
    assert table is not None
    user = await run_in_threadpool(user_view, outcome.pages, outcome.principal, lang)
    sex = outcome.service.catalog.dimensions["koen"]
    rows = [
        [_cell(v) if i != 3 else label_of(sex, v, lang) for i, v in enumerate(values)]
        for values in table.values(downloadable_only=False)
    ]
    view_only = [c.label[lang] for c in table.columns if not c.downloadable]
    return render(
        request,
        "cohort_individuals.html",
        title_key="cohort.individuals_title",
        session=outcome.session,
        user=user,
        cohort_id=cohort_id,
        table=table,
        header=table.header(lang, downloadable_only=False),
        rows=rows,
        view_only=view_only,
    )


@router.get("/avanceret/{cohort_id}/personer.csv")
async def individuals_download(request: Request, cohort_id: str) -> Response:
    outcome = await _cohort_work(
        request, lambda service, principal, _lang: individual_table(service, principal, cohort_id, download=True)
    )
    if isinstance(outcome, Response):
        return outcome
    assert outcome.value is not None
    return Response(
        outcome.value.to_csv(outcome.lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kohorte-{cohort_id}-personer.csv"'},
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else ""
    return str(value)
