"""Which municipality a report opens on, and pre-warming: a user's first report page is served
from the cache when its organisation's default views were warmed at start-up."""

from __future__ import annotations

from koes.privacy.access import Organisation, Principal
from koes.reports.requests import ReportChoices
from koes.services.analysis import AnalysisService
from koes.services.reports import ReportService
from koes.services.warehouse import LoadResult
from koes.settings import Settings

REGION_SYDDANMARK = Organisation("region", 1083)


def user(organisation: Organisation) -> Principal:
    return Principal("u", organisation, frozenset({"aggregeret"}))


def test_reports_open_on_the_users_municipality_or_its_regions_first(
    small_load: LoadResult, small_settings: Settings
) -> None:
    analysis = AnalysisService(small_settings)
    reports = ReportService(analysis)
    noegletal = reports.report("noegletal")
    opened = {
        org: reports.resolve(noegletal, ReportChoices(), user(org)).municipality
        for org in (Organisation("kommune", 751), REGION_SYDDANMARK, Organisation("national"))
    }
    in_region = sorted(m.code for m in analysis.municipalities().values() if m.region == 1083)
    assert opened == {
        Organisation("kommune", 751): 751,
        REGION_SYDDANMARK: in_region[0],
        Organisation("national"): min(analysis.municipalities()),
    }


def test_prewarming_serves_each_organisations_first_page_from_the_cache(
    small_load: LoadResult, small_settings: Settings
) -> None:
    analysis = AnalysisService(small_settings)
    reports = ReportService(analysis)
    organisations = [Organisation("kommune", 751), REGION_SYDDANMARK, Organisation("kommune", 751)]
    warmed = reports.prewarm(organisations)
    assert warmed > 0
    held = analysis.cached_results()
    for organisation in organisations:
        for report in reports.reports():
            reports.run(report.id, ReportChoices(), user(organisation))
    assert analysis.cached_results() == held  # every default view was a cache hit
    # a municipality none of the organisations opens on was not warmed
    reports.run("noegletal", ReportChoices(municipality=101), user(Organisation("kommune", 751)))
    assert analysis.cached_results() > held
