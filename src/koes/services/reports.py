"""Standard reports: the catalogue, a report's views for a user's choices, and pre-warming.

A report is a handful of analysis requests (``koes.reports.requests``) answered through
``AnalysisService.run_views``: the same scope rewrite, disclosure control and cache as any analysis,
and one audit record per report shown. Pre-warming answers every report's default views once per
release (for each municipality whose users may open it), so a landing page is served from the
cache and never waits for a multi-year scan.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from koes.privacy.access import Organisation, Principal
from koes.query.request import RequestError
from koes.reports.loader import default_reports
from koes.reports.model import Report, ReportBook
from koes.reports.requests import ReportChoices, ResolvedChoices, resolve, view_requests
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult

log = logging.getLogger(__name__)
WARMING_ROLE = "aggregeret"  # every aggregate user shares this scope, so its cache entries serve them all
BODY_BUDGET = 256 * 1024 * 1024  # bytes of kept report bodies (a page is 20–800 kB); the least recent go first


class UnknownReportError(LookupError):
    """No report has this id."""


@dataclass(frozen=True)
class ReportResult:
    report: Report
    chosen: ResolvedChoices
    views: Mapping[str, AnalysisResult]

    def to_json(self, language: str = "da") -> dict[str, Any]:
        first = next(iter(self.views.values()))
        return {
            "report": report_json(self.report, language),
            "choices": self.chosen.to_json(),
            "views": {name: r.to_json(language, downloadable_only=True) for name, r in self.views.items()},
            "suppression": {
                "cells_suppressed": sum(r.cells_suppressed for r in self.views.values()),
                "rule": first.provenance.suppression_description(language),
            },
            "provenance": first.provenance.to_json(language),
        }


@dataclass(frozen=True)
class ReportBody:
    """A report's JSON as sent, and its strong entity tag (a hash of what it depends on and the bytes)."""

    content: bytes
    etag: str


@dataclass(frozen=True)
class _Served:
    body: ReportBody
    views: tuple[AnalysisResult, ...]  # what the audit record of each access describes


class ReportService:
    def __init__(self, analysis: AnalysisService, book: ReportBook | None = None) -> None:
        self.analysis = analysis
        self.book = book or default_reports()
        self._lock = threading.Lock()
        self._bodies: OrderedDict[tuple[str, ...], _Served] = OrderedDict()
        self._body_bytes = 0

    def reports(self) -> list[Report]:
        return list(self.book.reports.values())

    def report(self, report_id: str) -> Report:
        report = self.book.get(report_id)
        if report is None:
            raise UnknownReportError(report_id)
        return report

    def resolve(self, report: Report, choices: ReportChoices, principal: Principal) -> ResolvedChoices:
        municipalities = sorted(self.analysis.municipalities())
        catalog = self.analysis.catalog
        home = self.analysis.default_municipality(principal)
        return resolve(report, choices, catalog, self.analysis.years(), municipalities, home)

    def run(
        self,
        report_id: str,
        choices: ReportChoices,
        principal: Principal,
        language: str = "da",
        *,
        only: tuple[str, ...] = (),
        action: str = "report",
    ) -> ReportResult:
        """The report's views (``only`` these, when given: a download takes just the table). An
        unknown report or unusable choices are audited like any failed access, then raised."""
        try:
            report = self.report(report_id)
            chosen = self.resolve(report, choices, principal)
        except (UnknownReportError, RequestError) as error:
            self.analysis.record_failure(f"report {report_id}", principal, action, error)
            raise
        requests = view_requests(report, chosen, self.analysis.years())
        if only:
            requests = {name: raw for name, raw in requests.items() if name in only}
        views = self.analysis.run_views(requests, principal, _summary(report, chosen), language, action)
        return ReportResult(report, chosen, views)

    def body(self, report_id: str, choices: ReportChoices, principal: Principal, language: str = "da") -> ReportBody:
        """The report's data as the API sends it (``ReportResult.to_json``, encoded), audited like ``run``.

        A page seen before is sent from its bytes: the key holds everything the answer depends on
        (``AnalysisService.answer_key``: release, scope, disclosure control, organisation, roles) and
        the page's requests and language, so bytes never pass from one scope or role to another; the
        bytes were made from protected results only, and every access writes the same audit record
        as a fresh answer."""
        try:
            report = self.report(report_id)
            chosen = self.resolve(report, choices, principal)
        except (UnknownReportError, RequestError) as error:
            self.analysis.record_failure(f"report {report_id}", principal, "report", error)
            raise
        requests = view_requests(report, chosen, self.analysis.years())
        summary = _summary(report, chosen)
        try:
            key: tuple[str, ...] | None = self._body_key(principal, requests, language)
        except Exception:  # no scope (a ceased organisation): the full path audits and raises it
            key = None
        served = self._cached(key)
        if served is not None:
            self.analysis.record_views(served.views, principal, summary, "report")  # no record, no answer
            return served.body
        views = self.analysis.run_views(requests, principal, summary, language, "report")
        content = _encoded(ReportResult(report, chosen, views).to_json(language))
        key = self._body_key(principal, requests, language)
        body = ReportBody(content, _etag(key, content))
        release, scope = key[0], key[1]
        # kept only when the views answer this key (not a release that changed while they ran)
        if all(v.provenance.release_id == release and v.provenance.scope == scope for v in views.values()):
            with self._lock:
                replaced = self._bodies.pop(key, None)
                self._body_bytes -= len(replaced.body.content) if replaced else 0
                self._bodies[key] = _Served(body, tuple(views.values()))
                self._body_bytes += len(content)
                limit = self.analysis.settings.cache_entries
                while len(self._bodies) > limit or (self._body_bytes > BODY_BUDGET and len(self._bodies) > 1):
                    _, dropped = self._bodies.popitem(last=False)
                    self._body_bytes -= len(dropped.body.content)
        return body

    def kept(self) -> tuple[int, int]:
        """How many report bodies are kept, and their bytes."""
        with self._lock:
            return len(self._bodies), self._body_bytes

    def _cached(self, key: tuple[str, ...] | None) -> _Served | None:
        if key is None:
            return None
        with self._lock:
            served = self._bodies.get(key)
            if served is not None:
                self._bodies.move_to_end(key)
            return served

    def _body_key(self, principal: Principal, requests: Mapping[str, Any], language: str) -> tuple[str, ...]:
        page = json.dumps(requests, sort_keys=True, separators=(",", ":"), default=str)
        return (*self.analysis.answer_key(principal), language, page)

    def prewarm(self, organisations: Iterable[Organisation], stop: threading.Event | None = None) -> int:
        """Answer every report's default views (every variant) for the users of ``organisations``,
        once per municipality they open on; returns the number of requests warmed.
        A failing report is logged and skipped: warming is an optimisation, never a gate. Setting
        ``stop`` ends the warming after the report being warmed (the server is shutting down)."""
        warmed, seen = 0, set()
        for organisation in organisations:
            principal = Principal("prewarm", organisation, frozenset({WARMING_ROLE}))
            home = self.analysis.default_municipality(principal)
            if home in seen:
                continue
            seen.add(home)
            for report in self.reports():
                for variant in report.variants:
                    if stop is not None and stop.is_set():
                        return warmed
                    try:
                        chosen = self.resolve(report, ReportChoices(variant=variant.id), principal)
                        for raw in view_requests(report, chosen, self.analysis.years()).values():
                            self.analysis.warm(raw, principal)
                            warmed += 1
                    except Exception:
                        log.exception("pre-warming report %s (%s) failed", report.id, variant.id)
        return warmed


def report_json(report: Report, language: str) -> dict[str, Any]:
    """A report in the catalogue: what it shows and what can be chosen."""
    return {
        "id": report.id,
        "title": report.title.get(language),
        "description": report.description.get(language),
        "choice_label": report.choice_label.get(language) if report.choice_label else None,
        "variants": [
            {"id": v.id, "label": v.label.get(language), "measures": list(v.measures), "breakdown": v.breakdown}
            for v in report.variants
        ],
        "series": {"kind": report.series.kind.value, "grain": report.series.grain},
        "age_dimension": report.age,
    }


def _encoded(body: Mapping[str, Any]) -> bytes:
    """JSON bytes exactly as the API's JSON responses encode them (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def _etag(key: tuple[str, ...], content: bytes) -> str:
    """A strong entity tag: changes with the bytes and with anything in the key (release, scope, role, language)."""
    digest = hashlib.sha256("\x1f".join(key).encode("utf-8"))
    digest.update(content)
    return f'"{digest.hexdigest()[:32]}"'


def _summary(report: Report, chosen: ResolvedChoices) -> str:
    parts = [f"report {report.id} ({chosen.variant.id})", f"{chosen.measure}", f"{chosen.year}"]
    parts.append(f"municipality {chosen.municipality}")
    if chosen.sex is not None:
        parts.append(f"sex {chosen.sex}")
    if chosen.age is not None:
        parts.append(f"age {chosen.age}")
    if chosen.geography is not None:
        parts.append(f"regions {chosen.geography}")
    return ", ".join(parts)
