"""The one analysis path: parse → plan → scope → SQL → engine → assemble → protect → result.

Every route (API, CLI, exports, later the web pages and Standard reports) calls
``AnalysisService.run``. Results are cached by (release, request, scope, rule, engine): the scope
is part of the key, and only protected results are cached, so a cache hit is as safe as a fresh
answer. The engine is opened read-only on the current release and reopened when it changes.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, cast

from koes.cohorts.population import CohortPopulation
from koes.domain.geography import Geography
from koes.domain.rules import rules_by_year
from koes.engines.base import Engine, EngineError, Row
from koes.metrics import cache_lookup
from koes.privacy.access import Organisation, Principal, scope_for
from koes.privacy.audit import AuditEvent
from koes.privacy.suppression import DisclosureRule
from koes.query.assemble import StandardWeights, assemble
from koes.query.bases import BaseCounting
from koes.query.geography import map_regions, parse_geography, regions_of
from koes.query.geography import resolve as resolve_geography
from koes.query.plan import Plan
from koes.query.planner import Municipality, PlanContext, plan_request
from koes.query.request import AnalysisRequest, FieldProblem, RequestError, parse_request
from koes.query.scope import Scope, ScopedPlan, ScopedQuery, apply_scope
from koes.query.sql import to_sql
from koes.refdata import RefData, load_refdata
from koes.semantic.loader import CatalogError, default_catalog, release_problems
from koes.semantic.members import members, sort_key
from koes.semantic.model import Catalog
from koes.services.audit import (
    AuditTrail,
    analysis_event,
    failed_analysis_event,
    views_event,
    views_failed_event,
)
from koes.services.ceased import OrganisationCeasedError, ceased
from koes.services.cohort_population import (
    CohortLookup,
    CohortNotFoundError,
    GivenPopulation,
    check_size,
    picked_groups,
)
from koes.services.cohort_population import (
    resolve as resolve_cohort,
)
from koes.services.disclosure import Control, Exactness, protect
from koes.services.noise import disclosure_control
from koes.services.pinning import pinned_release
from koes.services.results import AnalysisResult, Provenance
from koes.settings import EngineName, Settings
from koes.storage.releases import Release, ReleaseError, ReleaseStore


class NoReleaseError(RuntimeError):
    """There is no current release to analyse: load extracts first."""


class AnalysisFailedError(RuntimeError):
    """The engine could not run a query; the message is safe to show (no values, no SQL)."""


@dataclass(frozen=True)
class _Opened:
    release: Release
    engine: Engine
    years: tuple[int, ...]
    extract_period: str
    rule_versions: Mapping[str, str]
    counting: BaseCounting
    control: Control
    cofinancing: tuple[tuple[str, str, date, date], ...] = ()  # the release's rule periods


class AnalysisService:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog | None = None,
        audit: AuditTrail | None = None,
        cohorts: CohortLookup | None = None,
    ) -> None:
        self.settings = settings
        self.audit = audit  # when set, every run() writes one audit record, whatever its outcome
        self.catalog = catalog or default_catalog()
        self.today: Callable[[], date] = _today  # which organisations have ceased depends on the day
        self.cohorts = cohorts  # the cohort store, for requests restricted to a cohort (Advanced)
        self.rule = DisclosureRule(
            threshold=settings.suppression_threshold, rounding=settings.suppression_rounding or None
        )
        self._lock = threading.Lock()
        self._opened: _Opened | None = None
        self._cache: OrderedDict[tuple[str, ...], AnalysisResult] = OrderedDict()
        self._pin = threading.local()

    # --- the path --------------------------------------------------------------------------
    def run(
        self,
        raw: object,
        principal: Principal,
        language: str = "da",
        action: str = "analysis",
        check: Callable[[object, Catalog], None] | None = None,
    ) -> AnalysisResult:
        """Answer ``raw`` for ``principal``. ``check`` is a route's own rule applied first (the download
        rules: ``export.check_downloadable``). With an audit trail, one record per call (``action``),
        also for cache hits, refusals (outcome ``denied``) and bad requests or failures (``error``)."""
        try:
            if check is not None:
                check(raw, self.catalog)
            result = self._run(raw, principal, language)
        except Exception as error:
            if self.audit is not None:
                self.audit.record(self._failure_event(raw, principal, action, error))
            raise
        if self.audit is not None:
            self.audit.record(analysis_event(result, principal, action))  # no record, no answer
        return result

    def run_views(
        self,
        raws: Mapping[str, object],
        principal: Principal,
        summary: str,
        language: str = "da",
        action: str = "report",
        progress: Callable[[int], None] | None = None,
        cohort: CohortPopulation | None = None,
    ) -> dict[str, AnalysisResult]:
        """Answer several requests that make one page (a Standard report's map, series, comparison …)
        and write **one** audit record for them (``action``, ``summary``), whatever the outcome.
        ``progress`` hears how far it is (a job's); a ``cohort`` just read for ``principal`` is not read again."""
        try:
            results: dict[str, AnalysisResult] = {}
            page: dict[object, Any] = {}  # one page uses a cohort once: fetched, resolved and guarded once
            if cohort is not None:
                page[("cohort", cohort.id)] = (cohort, resolve_cohort(cohort, self.population_engine()))
            for name, raw in raws.items():
                results[name] = self._run(raw, principal, language, page)
                if progress is not None:
                    progress(100 * len(results) // len(raws))
        except Exception as error:
            self.record_failure(summary, principal, action, error)
            raise
        self.record_views(list(results.values()), principal, summary, action)
        return results

    def record_views(
        self, results: Sequence[AnalysisResult], principal: Principal, summary: str, action: str = "report"
    ) -> None:
        """Audit one page made of ``results`` (``run_views``; a page served again from its bytes)."""
        if self.audit is not None:
            self.audit.record(views_event(list(results), principal, action, summary))

    def record_failure(self, summary: str, principal: Principal, action: str, error: Exception) -> None:
        """Audit a page that was refused (``denied``) or could not be answered (``error``)."""
        if self.audit is not None:
            scope = self.scope_fingerprint(principal)
            self.audit.record(views_failed_event(summary, principal, action, error, scope, self._serving_id()))

    def warm(self, raw: object, principal: Principal, language: str = "da") -> None:
        """Fill the cache with the answer to ``raw`` (pre-warming the Standard reports). Nothing is
        returned, so nothing is disclosed and there is nothing to audit; a later ``run`` is audited."""
        self._run(raw, principal, language)

    def _failure_event(self, raw: object, principal: Principal, action: str, error: Exception) -> AuditEvent:
        try:
            request = parse_request(raw, self.catalog)
        except RequestError:
            request = None
        return failed_analysis_event(
            raw, principal, action, error, request, self.scope_fingerprint(principal), self._serving_id()
        )

    def _serving_id(self) -> str | None:
        """The release being served, without opening it (a refused request may come first)."""
        if self._opened is not None:
            return self._opened.release.id
        try:
            current = ReleaseStore(self.settings.warehouse).current()
        except ReleaseError:
            return None
        return current.id if current else None

    def _run(
        self, raw: object, principal: Principal, language: str, page: dict[object, Any] | None = None
    ) -> AnalysisResult:
        with pinned_release(self._pin, self._open):  # one release for the whole request (koes.services.pinning)
            return self._run_pinned(raw, principal, language, page)

    def _run_pinned(
        self, raw: object, principal: Principal, language: str, page: dict[object, Any] | None = None
    ) -> AnalysisResult:
        opened = self._open()
        request = parse_request(raw, self.catalog)
        self._check_members(request.filters, opened.years)
        # Before the cache: a cohort that has expired, or is not the principal's, answers nothing.
        given = self.population(request, principal, page)
        scope = self.scope_of(principal)
        key = (
            opened.release.id,
            request.canonical(),
            scope.fingerprint(),
            *opened.control.fingerprint(),
            opened.engine.dialect,
            # the planner reads the home municipality only for a comparison that names none
            str(principal.home_municipality) if request.comparison and not request.comparison_municipality else "",
        )
        with self._lock:
            cache_lookup(hit=key in self._cache)
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = self._execute(self._scoped(request, principal, scope, given), opened, given)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.settings.cache_entries:
                self._cache.popitem(last=False)
        return result

    def sql(self, raw: object, principal: Principal) -> list[str]:
        """The SQL a request runs, after the scope rewrite (for `koes query --explain` and tests)."""
        opened = self._open()
        request = parse_request(raw, self.catalog)
        self._check_members(request.filters, opened.years)
        scoped = self._scoped(request, principal, self.scope_of(principal), self.population(request, principal))
        return [to_sql(opened.counting.first(q), opened.engine.dialect) for q in scoped.queries]

    def _scoped(
        self, request: AnalysisRequest, principal: Principal, scope: Scope, given: GivenPopulation | None = None
    ) -> ScopedPlan:
        """Plan, then the one scope rewrite: the only way this service reaches SQL."""
        context = self.plan_context(principal)
        if given is not None:
            context = dataclasses.replace(context, population=given.population)
        return apply_scope(plan_request(request, self.catalog, context), scope)

    def population(
        self, request: AnalysisRequest, principal: Principal, page: dict[object, Any] | None = None
    ) -> GivenPopulation | None:
        """The request's cohort, resolved on the current release and checked for size; None without one.
        ``CohortNotFoundError`` when the principal may not use it, ``RequestError`` when it is too small
        or too close to another published group. ``page`` holds what the other requests of one page
        found (the cohort, resolved, and the groups already guarded), so a page uses a cohort once."""
        if request.cohort is None:
            return None
        if self.cohorts is None:
            raise CohortNotFoundError(request.cohort)
        page = {} if page is None else page
        if ("cohort", request.cohort) not in page:
            cohort = self.cohorts.population(principal, request.cohort)
            page[("cohort", request.cohort)] = (cohort, resolve_cohort(cohort, self.population_engine()))
        cohort, given = page[("cohort", request.cohort)]
        check_size(given, request, self.catalog, self.settings.cohort_min_size)
        picked = picked_groups(request, self.catalog)
        if ("guarded", request.cohort, picked) not in page:
            self.cohorts.check_counted(cohort, picked)
            page[("guarded", request.cohort, picked)] = True
        return cast(GivenPopulation, given)

    def population_engine(self) -> Engine:
        """The release's engine, for a query with a table of the caller's registered beside it."""
        return self._open().engine

    def _execute(self, scoped: ScopedPlan, opened: _Opened, given: GivenPopulation | None = None) -> AnalysisResult:
        def run(query: ScopedQuery) -> list[Row]:
            sql = to_sql(query, opened.engine.dialect, pretty=False)
            if given is None:
                return opened.engine.execute(sql)
            return opened.engine.execute_with(sql, given.tables)

        try:
            rows: list[Sequence[Row]] = [opened.counting.run(q, run) for q in scoped.queries]
        except EngineError as error:
            raise AnalysisFailedError(str(error)) from error
        plan = scoped.plan
        blocks = assemble(plan, rows, tuple(self._weights), sort_key, scoped.kommuner_by_area())
        control = opened.control
        protected = tuple(protect(b, plan, control, self._weights, exact=scoped.exact_for(b.area)) for b in blocks)
        provenance = Provenance(
            release_id=opened.release.id,
            extract_period=opened.extract_period,
            rule_versions=opened.rule_versions,
            suppression_rule=control.name,
            suppression_descriptions={language: control.describe(language) for language in ("da", "en")},
            engine=opened.engine.dialect,
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            scope=scoped.scope.fingerprint(),
            exact=all(b.exact for b in protected),
            method=control.method.value,
            notes={language: control.note(language, Exactness.of(protected)) for language in ("da", "en")},
            geography={language: plan.geography.label(language) for language in ("da", "en")},
            cofinancing={
                language: "; ".join(r.text(language) for r in rules_by_year(opened.cofinancing, plan.period.years))
                for language in ("da", "en")
            },
        )
        return AnalysisResult(plan.request, plan, protected, provenance, given.purpose if given else None)

    def municipalities(self) -> Mapping[int, Municipality]:
        """The 98 municipalities (code → name, region, population) from the reference data."""
        return self._municipalities

    def default_municipality(self, principal: Principal) -> int:
        """The municipality a page opens on: the user's own; for a region, its first municipality by
        code; for the national authority, the first in the country."""
        home = principal.home_municipality
        if home in self._municipalities:
            return home
        org = principal.organisation
        own = self._region_members.get(org.code or 0, set()) if org.kind == "region" else set()
        return min(own or self._municipalities)

    @property
    def geography(self) -> Geography:
        """The versioned regions (koes.domain.geography)."""
        return self._refdata.geography

    def map_regions(self, plan: Plan) -> dict[int, frozenset[int]]:
        """The regions a map of ``plan`` outlines, each with its municipalities."""
        return map_regions(self.geography, plan.geography, plan.period.last // 100)

    def regions_offered(self, raw: Mapping[str, Any]) -> frozenset[int]:
        """The regions a region filter offers for a request (JSON form): those of its geography over
        the release (as it was: every region of its years; else the regions of the day)."""
        years = self._open().years
        choice, _ = parse_geography(raw.get("geography"))
        if not years:
            return frozenset()
        resolved = resolve_geography(choice, years)
        kommuner = frozenset(self._municipalities)
        return frozenset(regions_of(self.geography, resolved, kommuner, range(years[0], years[-1] + 1)))

    def geography_days(self) -> tuple[date, ...]:
        """The first day of the release and every later day in it on which the regions changed:
        the days an "as of" choice can usefully name."""
        years = self._open().years
        if not years:
            return ()
        first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
        changes = {m.valid_from for m in self.geography.memberships if first < m.valid_from <= last}
        return (first, *sorted(changes))

    def plan_context(self, principal: Principal) -> PlanContext:
        """What the planner knows: the release's years, the country, the principal's municipality."""
        return PlanContext(
            self._open().years,
            self._municipalities,
            self._regions,
            principal.home_municipality,
            self._refdata.geography,
        )

    # --- principals and scope --------------------------------------------------------------
    def local_principal(self) -> Principal:
        organisation = Organisation.parse(self.settings.local_org)
        return Principal(self.settings.local_user, organisation, frozenset({self.settings.local_role}))

    def answer_key(self, principal: Principal) -> tuple[str, ...]:
        """What an answer depends on besides the request: release, scope, disclosure control, engine
        and the principal's organisation, roles and home municipality (a page keyed by these and its
        requests is the same page). Raises like ``run`` when there is no scope (a ceased organisation)."""
        opened = self._open()
        return (
            opened.release.id,
            self.scope_of(principal).fingerprint(),
            *opened.control.fingerprint(),
            opened.engine.dialect,
            str(principal.organisation),
            ",".join(sorted(principal.roles)),
            str(principal.home_municipality),
        )

    def scope_fingerprint(self, principal: Principal) -> str:
        """The scope's fingerprint for an audit record; "" for a ceased organisation (no scope)."""
        try:
            return self.scope_of(principal).fingerprint()
        except OrganisationCeasedError:
            return ""

    def scope_of(self, principal: Principal) -> Scope:
        """The principal's scope; none, with a message saying why, for an organisation that ceased
        (a region merged into Region Østdanmark: its users are moved by the national authority)."""
        gone = ceased(self.geography, principal.organisation, self.today())
        if gone is not None:
            raise OrganisationCeasedError(gone)
        return scope_for(principal, self._region_members)

    # --- the release -----------------------------------------------------------------------
    def release_id(self) -> str:
        return self._open().release.id

    def release(self) -> Release:
        return self._open().release

    def cached_results(self) -> int:
        """How many protected results the cache holds (pre-warming is measured by it)."""
        with self._lock:
            return len(self._cache)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def years(self) -> tuple[int, ...]:
        return self._open().years

    def _open(self) -> _Opened:
        if (pinned := getattr(self._pin, "opened", None)) is not None:
            return cast(_Opened, pinned)
        current = ReleaseStore(self.settings.warehouse).current()
        if current is None:
            raise NoReleaseError(f"no release in {self.settings.warehouse}: run `koes load EXTRACTS_DIR` first")
        with self._lock:
            if self._opened is not None and self._opened.release.id == current.id:
                return self._opened
            # The old engine is not closed here: requests still running hold it and finish on it; it
            # closes when the last of them lets go (koes.services.pinning).
            self._opened = self._open_release(current)
            self._cache.clear()
            return self._opened

    def _open_release(self, release: Release) -> _Opened:
        engine = open_engine(self.settings, release)
        problems = release_problems(self.catalog, engine.table_columns())
        if problems:
            engine.close()
            raise CatalogError(problems)
        manifest = release.manifest()
        try:
            control = disclosure_control(self.settings, self.rule, manifest)
        except ValueError as error:
            engine.close()
            raise NoReleaseError(f"release {release.id}: {error}") from None
        period = manifest.get("extract_period", {})
        start, end = int(str(period.get("start", "0000"))[:4]), int(str(period.get("end", "0000"))[:4])
        return _Opened(
            release=release,
            engine=engine,
            years=tuple(range(start, end + 1)) if start else (),
            extract_period=f"{period.get('start', '?')} – {period.get('end', '?')}",
            rule_versions=dict(manifest.get("rule_versions", {})),
            counting=BaseCounting(
                control.recount_threshold, {} if self.settings.exact_bases else rows_per_person_year(manifest)
            ),
            control=control,
            cofinancing=_cofinancing_periods(engine),
        )

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.engine.close()
                self._opened = None

    # --- reference data --------------------------------------------------------------------
    @cached_property
    def _refdata(self) -> RefData:
        return load_refdata()

    @cached_property
    def _municipalities(self) -> dict[int, Municipality]:
        ref = self._refdata
        population = ref.population_in(self.catalog.standard_population_year)
        return {
            m.code: Municipality(m.code, m.name, m.region_code, population.get(m.code, 0)) for m in ref.municipalities
        }

    @cached_property
    def _regions(self) -> dict[int, str]:
        """Every region there has been (versioned geography): code → Danish name."""
        return {r.code: r.name_da for r in self._refdata.geography.regions}

    @cached_property
    def _region_members(self) -> dict[int, set[int]]:
        """Each region's municipalities over its whole life: a region's users see its citizens'
        history (Region Østdanmark's users that of its 46 municipalities, also before 2027)."""
        regions: dict[int, set[int]] = {}
        for m in self._refdata.geography.memberships:
            regions.setdefault(m.region_code, set()).add(m.kommunekode)
        return regions

    @cached_property
    def _weights(self) -> StandardWeights:
        """The standard population: national residents by sex and 5-year group (Statistics Denmark)."""
        rows = self._refdata.national_structure(self.catalog.standard_population_year)
        total = sum(r.population for r in rows)
        return {(1 if r.sex == "M" else 2, _band(r.age_from, r.age_to)): r.population / total for r in rows}

    def _check_members(self, filters: tuple[tuple[str, tuple[Any, ...]], ...], years: tuple[int, ...]) -> None:
        problems = []
        for dimension_id, values in filters:
            dimension = self.catalog.dimensions[dimension_id]
            known = {m.value for m in members(dimension, years)}
            if not known:
                continue
            problems += [
                FieldProblem(f"filters.{dimension_id}", f"{v!r} is not a value of {dimension_id!r}")
                for v in values
                if v not in known
            ]
        if problems:
            raise RequestError(problems)


def _band(age_from: int, age_to: int | None) -> str:
    return f"{age_from}+" if age_to is None else f"{age_from}-{age_to}"


def rows_per_person_year(manifest: Mapping[str, Any]) -> dict[str, int]:
    """The bound the load recorded per person-year table (an older release records none)."""
    tables: Mapping[str, Mapping[str, Any]] = manifest.get("tables", {})
    return {
        name: int(table["max_rows_per_person_year"])
        for name, table in tables.items()
        if table.get("max_rows_per_person_year")
    }


def open_engine(settings: Settings, release: Release) -> Engine:
    if settings.engine == EngineName.SPARK:
        try:
            from koes.engines.spark import SparkEngine  # imported only when chosen: pyspark is optional
        except ImportError:
            raise NoReleaseError("KOES_ENGINE=spark needs pyspark: pip install -e '.[spark]'") from None

        return SparkEngine(release.parquet_dir, release.id)
    from koes.engines.duckdb import DuckDBEngine

    return DuckDBEngine(release.serving_file, release.id, threads=settings.threads, memory_limit=settings.memory_limit)


def _cofinancing_periods(engine: Engine) -> tuple[tuple[str, str, date, date], ...]:
    """The co-financing rule versions the release was computed with, and their periods."""
    rows = engine.execute("SELECT DISTINCT version, basis, valid_from, valid_to FROM rule_cofinancing")
    return tuple((str(r["version"]), str(r["basis"]), _as_date(r["valid_from"]), _as_date(r["valid_to"])) for r in rows)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _today() -> date:
    return datetime.now(UTC).date()
