"""The Analysis route: ``GET /analyse`` builds an analysis and shows its result; ``/analyse/export``.

perspective → measures → rows/columns → filters → segment, period and comparison, in one GET form
whose state is the address (:mod:`koes.web.builder`): a result can be bookmarked, reloaded and
shared as a link. The result is a pivot table with totals, a chart of one measure, and a map when
municipality is the one row dimension. The numbers come from ``AnalysisService.run`` (scoped,
suppressed, audited as ``analysis``; downloads as ``export``); this module only lays them out.
Saving, renaming, sharing and deleting are in :mod:`koes.web.pages.saved`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.query.planner import available_dimensions
from koes.query.request import FieldProblem, RequestError
from koes.query.scope import ScopeDeniedError
from koes.reports.requests import across_areas
from koes.semantic.members import members
from koes.semantic.model import Catalog, Dimension, Unit
from koes.services.analysis import AnalysisFailedError, AnalysisService, NoReleaseError
from koes.services.ceased import OrganisationCeasedError
from koes.services.cohort_population import CohortNotFoundError
from koes.services.export import Export, check_downloadable, export, population_text
from koes.services.results import AnalysisResult
from koes.services.saved import NotFoundError, SavedAnalysis, SavedAnalysisService
from koes.web import views
from koes.web.builder import BuilderState, drill_down, fitted, from_query
from koes.web.formats import danish_key, in_sentence, number
from koes.web.i18n import Translator, has_message
from koes.web.maps import MapTexts, choropleth_svg
from koes.web.pages.common import ceased_page, error_page, lang_of, refused, render, signed_in, user_view
from koes.web.pages.downloads import attachment, delimiter, format_of, precision
from koes.web.pages.figures import chart, exactness, provenance
from koes.web.pages.forms import Checkboxes, Option, Select
from koes.web.pages.geography import geography_select

router = APIRouter(include_in_schema=False)
ROW_SLOTS = 2
COLUMN_SLOTS = 1
MAX_FILTER_MEMBERS = 120  # a longer list (diagnoses) is for rows, not for a list of checkboxes
NOT_FILTERS = frozenset({"aar"})  # the period chooses the years
SAVE_PROBLEMS = frozenset({"name", "conflict"})


@dataclass(frozen=True)
class Outcome:
    """What the request gave: a result, or the problems to show above the form."""

    result: AnalysisResult | None
    problems: list[FieldProblem]


def analysis_of(request: Request) -> AnalysisService:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    return service


def saved_of(request: Request) -> SavedAnalysisService:
    service = request.app.state.saved
    assert isinstance(service, SavedAnalysisService)
    return service


def state_of(request: Request, service: AnalysisService) -> BuilderState:
    """The builder state in the address (NoReleaseError without data)."""
    years = service.years()
    return fitted(from_query(request.query_params.multi_items(), max(years, default=None)), service.catalog)


@router.get("/analyse")
async def builder(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    service = analysis_of(request)
    lang = lang_of(request)
    try:
        state = await run_in_threadpool(state_of, request, service)
        outcome = await run_in_threadpool(_answer, service, state, principal, lang)
    except NoReleaseError:
        return error_page(request, 503, "no_release")
    except OrganisationCeasedError as gone:  # the service recorded the refusal
        return ceased_page(request, gone.ceased)
    except ScopeDeniedError:
        return await refused(request, pages, principal, "analysis")
    user = await run_in_threadpool(user_view, pages, principal, lang)
    context = await run_in_threadpool(_context, service, state, outcome, principal, lang)
    opened = await run_in_threadpool(_opened, request, principal)
    problem = request.query_params.get("save_problem")
    return render(
        request,
        "analyse.html",
        title_key="analyse.title",
        page_title=context.pop("page_title", None),
        session=session,
        user=user,
        opened=opened,
        save_problem=problem if problem in SAVE_PROBLEMS else None,
        **context,
    )


def _opened(request: Request, principal: Principal) -> SavedAnalysis | None:
    """The saved analysis the page was opened from (``saved=<id>``), if the user may see it."""
    value = request.query_params.get("saved", "")
    if not value.isdigit():
        return None
    try:
        return saved_of(request).get(principal, int(value))
    except NotFoundError:
        return None


@router.get("/analyse/export")
async def analysis_export(request: Request) -> Response:
    pages, _session, principal = await signed_in(request)
    if not principal.may("export"):
        return await refused(request, pages, principal, "export")
    service = analysis_of(request)
    lang = lang_of(request)
    fmt, sep, places = format_of(request), delimiter(request, lang), precision(request)
    if fmt is None or sep is None or places is None:
        return error_page(request, 400, "analysis_request")

    def run() -> Export:
        raw = state_of(request, service).to_request(service.catalog)
        result = service.run(raw, principal, lang, action="export", check=check_downloadable)
        return export(result, fmt, lang, sep, places)

    try:
        file = await run_in_threadpool(run)
    except NoReleaseError:
        return error_page(request, 503, "no_release")
    except (RequestError, AnalysisFailedError):
        return error_page(request, 400, "analysis_request")
    except ScopeDeniedError:
        return await refused(request, pages, principal, "export")
    return attachment(file)


def _answer(service: AnalysisService, state: BuilderState, principal: Principal, lang: str) -> Outcome:
    try:
        return Outcome(service.run(state.to_request(service.catalog), principal, lang), [])
    except RequestError as error:
        return Outcome(None, list(error.problems))
    except CohortNotFoundError:
        return Outcome(None, [FieldProblem("cohort", "no such cohort for you", "cohort_unknown")])
    except AnalysisFailedError as error:
        return Outcome(None, [FieldProblem("analysis", str(error), "failed")])


# --- the page ------------------------------------------------------------------------------------


def _context(
    service: AnalysisService, state: BuilderState, outcome: Outcome, principal: Principal, lang: str
) -> dict[str, Any]:
    t = Translator(lang)
    form = _form(service, state, principal, lang, t)
    problems = [problem_text(p, service.catalog, lang) for p in outcome.problems]
    context: dict[str, Any] = {"form": form, "problems": problems, "query": state.query(), "result": None}
    result = outcome.result
    if result is None:
        return context
    measure = views.measure_of(result, state.chart or result.measures[0].id)
    title = _title([m.label.get(lang) for m in result.measures], result, lang, t)
    population = population_text(result, lang, service.catalog)
    context.update(
        result=result,
        result_title=title,
        population=population,
        result_exactness=exactness(result, lang)[1],
        per_citizen=_per_citizen_hint(result, service.catalog, state.perspective, lang),
        page_title=f"{title} ({population}) – {t('analyse.title')}",
        table=views.table(result, lang, downloadable_only=False),
        chart=chart(
            "pivot",
            _title([measure.label.get(lang)], result, lang, t),
            views.pivot_chart(result, measure, lang),
            result,
            lang,
        ),
        map_svg=_map(service, state, result, measure, principal, lang, t),
        downloads=_downloads(state, service.catalog, t) if principal.may("export") else [],
        view_only=[m.label.get(lang) for m in result.measures if not m.downloadable],
        filename=f"analyse-{state.perspective}",
        **provenance([result], lang),
    )
    return context


def _per_citizen_hint(result: AnalysisResult, catalog: Catalog, perspective: str, lang: str) -> list[str]:
    """With a comparison of areas, the per-citizen measures of the kroner totals shown: totals of
    areas of different size are not comparable (issue 18 item 4); the page suggests these instead."""
    if not result.plan.areas:
        return []
    totals = [m for m in result.measures if m.unit is Unit.KR]
    return [
        catalog.measures[across].label.get(lang)
        for m in totals
        if (across := across_areas(m.id, perspective, catalog)) != m.id
    ]


def problem_text(problem: FieldProblem, catalog: Catalog, lang: str) -> str:
    """A problem in the page's language when it has a code (ids in its parameters become labels);
    else the checker's own words."""
    if not problem.code or not has_message(f"problem.{problem.code}"):
        if lang == "en":
            return str(problem)  # the checker's own words are English
        # Danish: say which choice cannot be used, never the checker's English ("unknown dimension …")
        part = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
        key = f"problem.field.{part}" if has_message(f"problem.field.{part}") else "problem.field.other"
        return Translator(lang)(key)
    labels = {}
    for name, value in problem.params:
        if name == "measure" and value in catalog.measures:
            value = catalog.measures[value].label.get(lang)
        elif name in ("dimension", "dimensions"):
            value = ", ".join(
                catalog.dimensions[d].label.get(lang) if d in catalog.dimensions else d for d in value.split(",")
            )
        labels[name] = value
    return Translator(lang)(f"problem.{problem.code}", **labels)


def _title(labels: list[str], result: AnalysisResult, lang: str, t: Translator) -> str:
    """ "Indlæggelser, sengedage efter bopælskommune og år, 2023": what a table or chart holds, in words."""
    dims = [_lower_first(d.label.get(lang)) for d in result.plan.rows + result.plan.columns]
    by = t("analyse.by", dimensions=_join(dims, t("analyse.and"))) if dims else ""
    what = _join(labels[:1] + [_lower_first(label) for label in labels[1:]], t("analyse.and"))
    return f"{what}{by}, {result.plan.period}"


def _lower_first(text: str) -> str:
    """ "Aldersgruppe (KØS)" → "aldersgruppe (KØS)": a label inside a sentence keeps its abbreviations."""
    return in_sentence(text)


def _join(words: list[str], last: str) -> str:
    return f"{', '.join(words[:-1])} {last} {words[-1]}" if len(words) > 1 else words[0]


def _map(
    service: AnalysisService,
    state: BuilderState,
    result: AnalysisResult,
    measure: Any,
    principal: Principal,
    lang: str,
    t: Translator,
) -> Markup | None:
    """The choropleth when municipality is the one row dimension (the column totals are drawn);
    each area is a link to the same analysis for that municipality (``builder.drill_down``)."""
    if result.plan.areas or [d.id for d in result.plan.rows] != ["kommune"]:
        return None
    home = principal.home_municipality
    own = service.municipalities().get(home) if home is not None else None
    texts = MapTexts(
        title=f"{measure.label.get(lang)}, {result.plan.period}",
        description=t("reports.map_description_above"),  # the builder shows the table before the map
        hidden=t("reports.map_hidden"),
        missing=t("reports.map_missing"),
        highlight=t("reports.map_highlight", name=own.name if own else ""),
    )
    areas = views.map_areas(result, measure, lang)
    svg = choropleth_svg(
        areas,
        texts,
        fmt=lambda v: number(v, measure.decimals, lang),
        highlight=home,
        regions=service.map_regions(result.plan),
        link=lambda code: f"/analyse?{drill_down(state, code).query()}",
    )
    return Markup(svg)


def _downloads(state: BuilderState, catalog: Catalog, t: Translator) -> list[tuple[str, str]]:
    """CSV and XLSX links, unless the analysis cannot be downloaded (a view-only dimension, or
    only view-only measures): then the page says so instead."""
    try:
        check_downloadable(state.to_request(catalog), catalog)
    except RequestError:
        return []
    links = [(f"/analyse/export?{state.query(format=fmt)}", t(f"reports.download_{fmt}")) for fmt in ("csv", "xlsx")]
    full = (f"/analyse/export?{state.query(format='csv', precision='full')}", t("reports.download_csv_full"))
    return [*links, full]


# --- the form ------------------------------------------------------------------------------------


def _form(
    service: AnalysisService, state: BuilderState, principal: Principal, lang: str, t: Translator
) -> dict[str, Any]:
    catalog = service.catalog
    years = service.years()
    shown = state.measures_or_default(catalog)
    dimensions = available_dimensions(shown, catalog, population=bool(state.cohort)) if shown else ()
    none = Option("", t("analyse.none"), False)
    perspective = Select(
        "perspective",
        t("analyse.perspective"),
        [Option(p.id, p.label.get(lang), p.id == state.perspective) for p in catalog.perspectives.values()],
    )
    measures = Checkboxes(
        "measure",
        t("analyse.measures"),
        [Option(m.id, m.label.get(lang), m.id in shown) for m in catalog.measures_of(state.perspective)],
        open=True,
        notes={m.id: t("analyse.view_only") for m in catalog.measures_of(state.perspective) if not m.downloadable},
    )
    axes = [
        _axis("row", i, t("analyse.row", n=i + 1), state.rows, dimensions, none, lang, t) for i in range(ROW_SLOTS)
    ] + [
        _axis("column", i, t("analyse.column", n=i + 1), state.columns, dimensions, none, lang, t)
        for i in range(COLUMN_SLOTS)
    ]
    year_options = [str(y) for y in reversed(years)]
    filters = _filters(state, dimensions, years, lang, service.regions_offered(state.to_request(catalog)))
    return {
        "perspective": perspective,
        "measures": measures,
        "axes": axes,
        "filters": filters,
        "kept_filters": _kept_filters(state, filters, catalog, lang),
        "segment": Select(
            "segment",
            t("analyse.segment"),
            [Option("", t("analyse.all_citizens"), state.segment is None)]
            + [Option(s.id, s.label.get(lang), s.id == state.segment) for s in catalog.segments.values()],
        ),
        "cohort": _cohort_select(service, state, principal, t),
        "first": _year_select("from", t("analyse.from"), year_options, state.first),
        "last": _year_select("to", t("analyse.to"), year_options, state.last),
        "compare": state.compare,
        "municipality": _municipality_select(service, state, principal, t),
        "geography": geography_select(service, state.geography, t),
        "chart": Select(
            "chart",
            t("analyse.chart_measure"),
            [Option(m, catalog.measures[m].label.get(lang), m == state.chart) for m in shown],
        ),
    }


def _axis(
    name: str,
    slot: int,
    label: str,
    chosen: tuple[str, ...],
    dimensions: tuple[Dimension, ...],
    none: Option,
    lang: str,
    t: Translator,
) -> Select:
    value = chosen[slot] if slot < len(chosen) else ""
    options = [Option("", none.label, value == "")]
    options += [
        Option(d.id, d.label.get(lang), d.id == value, t(f"analyse.group.{d.group}") if d.group else "")
        for d in dimensions
    ]
    if value and value not in {d.id for d in dimensions}:
        # kept visible, so the problem message above the form has something to point at
        options.append(Option(value, value, True))
    return Select(name, label, options, id=f"f-{name}-{slot}")


def _filters(
    state: BuilderState, dimensions: tuple[Dimension, ...], years: tuple[int, ...], lang: str, regions: frozenset[int]
) -> list[Checkboxes]:
    """Checkboxes per dimension; a region filter offers the regions of the chosen geography."""
    out = []
    for d in dimensions:
        if d.id in NOT_FILTERS:
            continue
        known = members(d, years)
        if d.members.name == "regions":
            known = tuple(m for m in known if m.value in regions or _text(m.value) in state.filter_values(d.id))
        if not 0 < len(known) <= MAX_FILTER_MEMBERS:
            continue
        ticked = set(state.filter_values(d.id))
        options = [Option(_text(m.value), m.label.get(lang), _text(m.value) in ticked) for m in known]
        if d.members.name == "municipalities":  # found by name, in Danish order (Aarhus near the end)
            options.sort(key=lambda o: danish_key(o.label))
        out.append(Checkboxes(f"f.{d.id}", d.label.get(lang), options, open=bool(ticked)))
    return out


def _kept_filters(
    state: BuilderState, shown: list[Checkboxes], catalog: Catalog, lang: str
) -> list[tuple[str, str, list[str]]]:
    """Filters of the state the form has no checkboxes for (a long list such as diagnoses, set
    through the API or a saved analysis): kept as hidden fields, so submitting the form never
    drops them silently, and named on the page. (label, field name, values)."""
    names = {c.name for c in shown}
    out = []
    for dimension_id, values in state.filters:
        name = f"f.{dimension_id}"
        if name not in names:
            dimension = catalog.dimensions.get(dimension_id)
            out.append((dimension.label.get(lang) if dimension else dimension_id, name, list(values)))
    return out


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cohort_select(service: AnalysisService, state: BuilderState, principal: Principal, t: Translator) -> Select | None:
    """The population "Kohorte …": the cohorts the user may use (none: no choice is shown)."""
    store = service.cohorts
    cohorts = store.cohorts(principal) if store is not None and principal.may("individual_rows") else []
    if not cohorts and not state.cohort:
        return None
    options = [Option("", t("analyse.no_cohort"), not state.cohort)]
    options += [Option(c.id, t("analyse.cohort_option", name=c.name), c.id == state.cohort) for c in cohorts]
    if state.cohort and state.cohort not in {c.id for c in cohorts}:
        options.append(Option(state.cohort, state.cohort, True))  # kept, so the problem above has a target
    return Select("cohort", t("analyse.cohort"), options)


def _year_select(name: str, label: str, years: list[str], value: str | None) -> Select:
    options = [Option(y, y, y == value) for y in years]
    if value and value not in years:
        options.append(Option(value, value, True))  # a month period saved through the API
    return Select(name, label, options)


def _municipality_select(service: AnalysisService, state: BuilderState, principal: Principal, t: Translator) -> Select:
    chosen = state.municipality or str(service.default_municipality(principal))
    by_name = sorted(service.municipalities().values(), key=lambda m: danish_key(m.name))
    return Select(
        "municipality",
        t("analyse.compare_municipality"),
        [Option(str(m.code), m.name, str(m.code) == chosen) for m in by_name],
    )
