"""The Standard route: ``GET /standard`` (the catalogue) and ``GET /standard/{id}`` (one report).

A report page shows, for the choices in its address (year, municipality, sex, age, the report's
own choice, the measure): a map of the 98 municipalities, a time series, a comparison with the
region, the country and similar municipalities, a breakdown where the report has one, the tables
behind them, downloads (CSV, XLSX; PNG in the browser) and the provenance stamp. The numbers come
from ``ReportService.run`` (scoped, suppressed, audited); this module only lays them out.
Plotly.js (the basic bundle shipped in ``koes/web/vendor``; no CDN) is served as ``/vendor/plotly.min.js``, and its
style rules as ``/vendor/plotly.css`` (:mod:`koes.web.plotly_css`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.privacy.roles import data_level
from koes.query.request import RequestError
from koes.reports.model import Report, SeriesKind
from koes.reports.requests import ReportChoices
from koes.semantic.definitions import definition
from koes.semantic.members import label_of, members
from koes.services.analysis import NoReleaseError
from koes.services.ceased import OrganisationCeasedError
from koes.services.export import Export, export, population_text
from koes.services.reports import ReportResult, ReportService, UnknownReportError
from koes.web import views
from koes.web.builder import BuilderState
from koes.web.formats import danish_key, in_sentence, number
from koes.web.i18n import Translator
from koes.web.maps import MapTexts, choropleth_svg
from koes.web.pages.about import about
from koes.web.pages.common import ceased_page, error_page, lang_of, refused, render, signed_in, user_view
from koes.web.pages.downloads import attachment, delimiter, format_of, precision
from koes.web.pages.figures import Chart, chart, exactness, provenance
from koes.web.pages.forms import Option, Select
from koes.web.pages.geography import geography_select
from koes.web.pages.keyfigures import tiles
from koes.web.plotly_css import embedded_sheets, plotly_css, plotly_js

router = APIRouter(include_in_schema=False)
CHOICES = ("year", "municipality", "sex", "age", "variant", "measure", "geography")
VENDOR_CACHE = {"Cache-Control": "public, max-age=86400"}


def reports_of(request: Request) -> ReportService:
    service = request.app.state.reports
    assert isinstance(service, ReportService)
    return service


@router.get("/vendor/plotly.min.js")
async def plotly() -> Response:
    return FileResponse(plotly_js(), media_type="text/javascript", headers=VENDOR_CACHE)


@router.get("/vendor/plotly.css")
async def plotly_style() -> Response:
    """Plotly.js's style rules as a sheet (the pages allow no inline style: koes.web.plotly_css)."""
    css = await run_in_threadpool(plotly_css, plotly_js())
    return Response(css, media_type="text/css", headers=VENDOR_CACHE)


@router.get("/vendor/plotly-{sheet_id}.css")
async def plotly_embedded_style(request: Request, sheet_id: str) -> Response:
    """A style sheet Plotly.js carries whole (MapLibre's), served so that it adds no <style> of its own."""
    sheets = {s.id: s.css for s in await run_in_threadpool(embedded_sheets, plotly_js())}
    if sheet_id not in sheets:
        return error_page(request, 404)
    return Response(sheets[sheet_id], media_type="text/css", headers=VENDOR_CACHE)


@router.get("/standard")
async def catalogue(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    lang = lang_of(request)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    reports = reports_of(request).reports()
    return render(request, "reports.html", title_key="reports.title", session=session, user=user, reports=reports)


@router.get("/standard/{report_id}")
async def report_page(request: Request, report_id: str) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    service = reports_of(request)
    lang = lang_of(request)
    try:
        choices = _for_variant(service, report_id, _choices(request))
        result = await run_in_threadpool(service.run, report_id, choices, principal, lang)
    except OrganisationCeasedError as gone:  # recorded by the service (views_failed_event)
        return ceased_page(request, gone.ceased)
    except REPORT_ERRORS as error:
        return _error_page(request, error)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    context = await run_in_threadpool(_context, service, result, lang, principal.may("export"))
    context["exact_link"] = _exact_link(result, principal, service, lang)
    page_title = f"{context['report_title']}: {context['population']}"  # differs per report and choice
    return render(
        request, "report.html", title_key="reports.title", page_title=page_title, session=session, user=user, **context
    )


@router.get("/standard/{report_id}/export")
async def report_export(request: Request, report_id: str) -> Response:
    pages, _session, principal = await signed_in(request)
    if not principal.may("export"):
        return await refused(request, pages, principal, "export")
    service = reports_of(request)
    lang = lang_of(request)
    fmt, sep, places = format_of(request), delimiter(request, lang), precision(request)
    if fmt is None or sep is None or places is None:
        return error_page(request, 400, "report_choices")

    def run() -> Export:
        result = service.run(report_id, _choices(request), principal, lang, only=("table",), action="export")
        t = Translator(lang)
        heading = [(t("reports.about_report"), _report_name(result, lang))]
        return export(result.views["table"], fmt, lang, sep, places, heading)

    try:
        file = await run_in_threadpool(run)
    except REPORT_ERRORS as error:
        return _error_page(request, error)
    return attachment(file, prefix=f"{report_id}-")


REPORT_ERRORS = (UnknownReportError, RequestError, ValueError, NoReleaseError)


def _error_page(request: Request, error: Exception) -> Response:
    """What went wrong with a report, as a page: no such report, unusable choices, or no data yet."""
    if isinstance(error, UnknownReportError):
        return error_page(request, 404)
    if isinstance(error, NoReleaseError):
        return error_page(request, 503, "no_release")
    return error_page(request, 400, "report_choices")


def _choices(request: Request) -> ReportChoices:
    """The choices in the address; an empty value means the default. A malformed number: ValueError."""
    q = {k: request.query_params.get(k) or None for k in CHOICES}
    return ReportChoices(
        year=int(q["year"]) if q["year"] else None,
        municipality=int(q["municipality"]) if q["municipality"] else None,
        sex=int(q["sex"]) if q["sex"] else None,
        age=q["age"],
        variant=q["variant"],
        measure=q["measure"],
        geography=q["geography"],
    )


def _for_variant(service: ReportService, report_id: str, choices: ReportChoices) -> ReportChoices:
    """A measure of another variant is dropped (the form keeps the old measure when the variant
    changes): the page then shows the new variant's headline rather than an error."""
    report = service.report(report_id)
    if choices.measure is not None and choices.measure not in report.variant(choices.variant).measures:
        return replace(choices, measure=None)
    return choices


def _exact_link(
    result: ReportResult, principal: Principal, service: ReportService, lang: str
) -> tuple[str, str] | None:
    """For a user with individual-level rights: the own municipality's figures as an analysis of
    that municipality alone, which is exact (koes.query.scope: a block of only the user's own
    citizens); the report itself compares every municipality and so is protected."""
    home = principal.home_municipality
    if data_level(principal.roles) != "individual" or home is None:
        return None
    chosen, raw = result.chosen, result.views["table"].request
    filters = [(d, tuple(str(v) for v in values)) for d, values in raw.filters if d != "kommune"]
    state = BuilderState(
        perspective=chosen.variant.perspective,
        measures=chosen.variant.measures,
        filters=tuple(sorted([*filters, ("kommune", (str(home),))])),
        segment=raw.segment,
        first=str(chosen.year),
        last=str(chosen.year),
        geography=chosen.geography,
    )
    name = service.analysis.municipalities().get(home)
    return f"/analyse?{state.query()}", Translator(lang)("reports.exact_link", name=name.name if name else home)


def _report_name(result: ReportResult, lang: str) -> str:
    """The report and, when it has several, the chosen variant: "Nøgletal – Somatik"."""
    report = result.report
    if len(report.variants) > 1:
        return f"{report.title.get(lang)} – {result.chosen.variant.label.get(lang)}"
    return report.title.get(lang)


def _population(result: ReportResult, own: str, lang: str) -> str:
    """Whom the page's figures cover: the municipality, the variant's citizen group and filters, sex
    and age (from the table view's request, so page and download say the same), and the year."""
    return f"{own}, {population_text(result.views['table'], lang)}, {result.chosen.year}"


def _context(service: ReportService, result: ReportResult, lang: str, may_export: bool) -> dict[str, Any]:
    t = Translator(lang)
    report, chosen = result.report, result.chosen
    table_view = result.views["table"]
    measure = views.measure_of(table_view, chosen.measure)
    municipalities = {code: m.name for code, m in service.analysis.municipalities().items()}
    own = municipalities.get(chosen.municipality, str(chosen.municipality))
    texts = MapTexts(
        title=f"{measure.label.get(lang)}, {chosen.year}",
        description=t("reports.map_description"),
        hidden=t("reports.map_hidden"),
        missing=t("reports.map_missing"),
        highlight=t("reports.map_highlight", name=own),
    )
    areas = views.map_areas(table_view, measure, lang)
    svg = choropleth_svg(
        areas,
        texts,
        fmt=lambda v: number(v, measure.decimals, lang),
        highlight=chosen.municipality,
        regions=service.analysis.map_regions(table_view.plan),
        link=lambda code: _drill_down(report.id, chosen.to_json(), code),
    )
    query = urlencode({k: v for k, v in chosen.to_json().items() if v is not None})
    catalog = service.analysis.catalog
    charts = _charts(result, lang, t, own)
    return {
        "report": report,
        "report_title": _report_name(result, lang),
        "population": _population(result, own, lang),
        "report_description": report.description.get(lang),
        "own_name": own,
        "page_crumb": report.title.get(lang),
        "tiles": tiles(result.views["keyfigures"], chosen.across or chosen.measure, chosen.year, lang)
        if "keyfigures" in result.views
        else [],
        "tiles_heading": t("keyfigures.heading", name=own, year=chosen.year),
        "measure_label": measure.label.get(lang),
        "measure_definition": definition(measure, lang),
        "about": about(catalog, result.views.values(), municipalities, lang),
        "selects": _selects(service, report, result, lang, t, municipalities),
        "map_svg": Markup(svg),
        "map_title": texts.title,
        "table": views.table(table_view, lang),
        "table_exactness": exactness(table_view, lang)[1],
        "table_caption": t("reports.table_caption", year=chosen.year),
        "charts": charts,
        "downloads": _downloads(report.id, query, t) if may_export else [],
        "filename": f"{report.id}-{chosen.variant.id}-{chosen.year}",
        **provenance(list(result.views.values()), lang),
    }


def _drill_down(report_id: str, choices: dict[str, Any], code: int) -> str:
    """The report with the same choices for another municipality: a map area's link."""
    query = {k: v for k, v in {**choices, "municipality": code}.items() if v is not None}
    return f"/standard/{report_id}?{urlencode(query)}"


def _axes(data: dict[str, Any], x_title: str, y_title: str) -> dict[str, Any]:
    """A chart's data with its axis titles (the measure's label carries its unit)."""
    return {**data, "x_title": x_title, "y_title": y_title}


def _charts(result: ReportResult, lang: str, t: Translator, own: str) -> list[Chart]:
    chosen, report = result.chosen, result.report
    out = []
    series = result.views["series"]
    measure = series.measures[0]  # per citizen for an amount when areas are compared (reports.requests)
    y_title = measure.label.get(lang)
    if report.series.kind == SeriesKind.YEAR_TO_DATE:
        data, title = views.year_to_date(series, measure, lang), t("reports.year_to_date", name=own)
        data = _axes(data, t("axis.month"), t("axis.running_total", measure=y_title))
    else:
        data, title = views.series_by_area(series, measure, lang), t("reports.trend", name=own)
        grain = series.plan.columns[0].label.get(lang) if series.plan.columns else t("axis.period")
        data = _axes({**data, "own_trace": 0}, grain, y_title)
    out.append(chart("series", f"{measure.label.get(lang)}: {title}", data, series, lang))
    comparison = result.views["comparison"]
    compared = comparison.measures[0]
    out.append(
        chart(
            "comparison",
            f"{compared.label.get(lang)}: {t('reports.comparison', name=own, year=chosen.year)}",
            _axes(views.comparison(comparison, compared, lang), t("axis.area"), compared.label.get(lang)),
            comparison,
            lang,
        )
    )
    if "breakdown" in result.views:
        split = result.views["breakdown"]
        dimension = split.plan.columns[0]
        measure = split.measures[0]
        title = t("reports.breakdown", dimension=in_sentence(dimension.label.get(lang)), year=chosen.year)
        out.append(
            chart(
                "breakdown",
                f"{measure.label.get(lang)}: {title}",
                _axes(
                    {**views.breakdown(split, measure, lang), "own_trace": 0},
                    dimension.label.get(lang),
                    measure.label.get(lang),
                ),
                split,
                lang,
            )
        )
    return out


def _selects(
    service: ReportService,
    report: Report,
    result: ReportResult,
    lang: str,
    t: Translator,
    municipalities: dict[int, str],
) -> list[Select]:
    chosen = result.chosen
    years = service.analysis.years()
    out = [
        Select("year", t("reports.year"), [Option(str(y), str(y), y == chosen.year) for y in reversed(years)]),
        Select(
            "municipality",
            t("reports.municipality"),
            [
                Option(str(code), name, code == chosen.municipality)
                for code, name in sorted(municipalities.items(), key=lambda kv: danish_key(kv[1]))
            ],
        ),
    ]
    if len(report.variants) > 1 and report.choice_label is not None:
        out.append(
            Select(
                "variant",
                report.choice_label.get(lang),
                [Option(v.id, v.label.get(lang), v.id == chosen.variant.id) for v in report.variants],
            )
        )
    catalog = service.analysis.catalog
    out.append(
        Select(
            "measure",
            t("reports.measure"),
            [Option(m, catalog.measures[m].label.get(lang), m == chosen.measure) for m in chosen.variant.measures],
        )
    )
    sex = catalog.dimensions["koen"]
    out.append(
        Select(
            "sex",
            t("reports.sex"),
            [Option("", t("reports.both_sexes"), chosen.sex is None)]
            + [Option(str(v), label_of(sex, v, lang), v == chosen.sex) for v in (1, 2)],
        )
    )
    if report.age is not None:
        age = catalog.dimensions[report.age]
        out.append(
            Select(
                "age",
                t("reports.age"),
                [Option("", t("reports.all_ages"), chosen.age is None)]
                + [Option(str(m.value), m.label.get(lang), m.value == chosen.age) for m in members(age, years)],
            )
        )
    out.append(geography_select(service.analysis, chosen.geography, t))  # the region comparison and outlines
    return out


def _downloads(report_id: str, query: str, t: Translator) -> list[tuple[str, str]]:
    base = f"/standard/{report_id}/export?{query}"
    return [
        (f"{base}&format=csv", t("reports.download_csv")),
        (f"{base}&format=xlsx", t("reports.download_xlsx")),
        (f"{base}&format=csv&precision=full", t("reports.download_csv_full")),
    ]
