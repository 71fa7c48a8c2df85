"""A cohort as the population of an analysis, on the small release: uploaded through the real check,
kept in memory, analysed through the one path (plan → scope → SQL → engine → disclosure control →
audit). Counted independently from the release's own tables where a figure is exact."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cohort_support import InMemoryCohorts, analyst, make_cohort, residents_on
from koes.cohorts.population import CohortPopulation
from koes.domain.cells import TOTAL
from koes.privacy.access import Organisation, Principal
from koes.query.request import RequestError
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_individuals import individual_table
from koes.services.cohort_population import CohortNotFoundError
from koes.services.cohort_profile import cohort_profile
from koes.services.cohort_series import cohort_series
from koes.services.errors import ForbiddenError
from koes.services.warehouse import LoadResult
from koes.settings import ApiAuth, Settings
from koes.web.app import create_app
from support import koes

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HOME = 101
PATIENTS = {"perspective": "somatik", "measures": ["patienter", "kontakter"], "period": {"from": "2023"}}


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> dict[str, str | None]:
    return residents_on(small_extracts)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cohorts")


@pytest.fixture(scope="module")
def cohort(
    small_settings: Settings, small_load: LoadResult, people: dict[str, str | None], folder: Path
) -> CohortPopulation:
    """60 of the municipality's citizens and 40 from elsewhere, in two groups of 50."""
    home = [n for n, k in people.items() if k == "0101"][:60]
    away = [n for n, k in people.items() if k not in ("0101", None)][:40]
    chosen = home + away
    groups = ["indsats" if i % 2 else "kontrol" for i in range(len(chosen))]
    return make_cohort(small_settings, folder, chosen, cohort_id="k100", groups=groups)


@pytest.fixture(scope="module")
def everyone(
    small_settings: Settings, small_load: LoadResult, people: dict[str, str | None], folder: Path
) -> CohortPopulation:
    """Every person in the CPR extract: a cohort that narrows nothing."""
    return make_cohort(small_settings, folder, sorted(people), cohort_id="alle")


@pytest.fixture(scope="module")
def store(cohort: CohortPopulation, everyone: CohortPopulation) -> InMemoryCohorts:
    store = InMemoryCohorts()
    store.add(cohort, "kollega")
    store.add(everyone)
    return store


@pytest.fixture(scope="module")
def service(small_settings: Settings, store: InMemoryCohorts) -> AnalysisService:
    return AnalysisService(small_settings, cohorts=store)


def _release_persons(small_load: LoadResult, cohort: CohortPopulation, sql: str) -> Any:
    """A figure straight from the release's tables, the cohort's pseudonyms joined by hand."""
    con = duckdb.connect(str(small_load.release.serving_file), read_only=True)
    try:
        con.register("members", cohort.member_table())
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_cohort_that_narrows_nothing_publishes_the_same_figures(
    service: AnalysisService, everyone: CohortPopulation
) -> None:
    """Cohort cells take their keys from the same person record keys: the same persons, the same
    perturbed figures, cell by cell."""
    request = {**PATIENTS, "rows": ["kommune"], "columns": ["koen"]}
    plain = service.run(request, analyst())
    within = service.run({**request, "cohort": everyone.id}, analyst())
    assert not within.provenance.exact
    assert within.blocks[0].values == plain.blocks[0].values
    assert within.blocks[0].hidden == plain.blocks[0].hidden
    assert any(v for v in within.blocks[0].values["patienter"].values())


def test_own_citizens_in_a_cohort_are_counted_exactly(
    service: AnalysisService, cohort: CohortPopulation, small_load: LoadResult
) -> None:
    request = {**PATIENTS, "filters": {"kommune": [HOME]}, "cohort": cohort.id}
    result = service.run(request, analyst())
    (truth,) = _release_persons(
        small_load,
        cohort,
        "SELECT count(DISTINCT f.person_id), count(*) FROM members m JOIN persons p USING (pseudonym) "
        f"JOIN contacts f ON f.person_id = p.person_id "
        f"WHERE f.kommunekode = {HOME} AND f.year = 2023 AND f.sector = 'somatik'",
    )
    assert result.provenance.exact
    block = result.blocks[0]
    total = next(iter(block.values["patienter"]))
    assert (block.values["patienter"][total], block.values["kontakter"][total]) == truth
    assert 0 < truth[0] < cohort.size


def test_members_elsewhere_count_only_in_protected_figures(service: AnalysisService, cohort: CohortPopulation) -> None:
    result = service.run({**PATIENTS, "rows": ["kommune"], "cohort": cohort.id}, analyst())
    assert not result.provenance.exact and not result.blocks[0].exact
    areas = {key[0] for key, _ in result.blocks[0].values["patienter"].items() if key[0] is not None}
    assert areas - {HOME}, "members living elsewhere should show in other municipalities' cells"
    for key, value in result.blocks[0].values["patienter"].items():
        assert value is None or not 1 <= int(value) <= 4, f"an unprotected small count at {key}"


def test_groups_are_a_dimension_and_a_filter(service: AnalysisService, cohort: CohortPopulation) -> None:
    result = service.run({**PATIENTS, "rows": ["kohortegruppe"], "cohort": cohort.id}, analyst())
    assert result.blocks[0].row_keys == (("indsats",), ("kontrol",))
    picked = service.run({**PATIENTS, "filters": {"kohortegruppe": ["kontrol"]}, "cohort": cohort.id}, analyst())
    table = result.table()
    assert table[0][0] == "Kohortegruppe" and [row[0] for row in table[1:3]] == ["indsats", "kontrol"]
    assert picked.blocks[0].values["patienter"]


def test_rates_in_a_cohort_are_per_member_year(
    service: AnalysisService, cohort: CohortPopulation, small_load: LoadResult
) -> None:
    """Contacts per 1,000 divide by the members' own citizen-years (exact for own citizens): within a
    population, a member counts a year in each municipality lived in that year (decision 0007)."""
    request = {"perspective": "somatik", "measures": ["kontakter_pr_1000"], "period": {"from": "2023"}}
    result = service.run({**request, "cohort": cohort.id, "filters": {"kommune": [HOME]}}, analyst())
    (((contacts, years),)) = _release_persons(
        small_load,
        cohort,
        "SELECT (SELECT count(*) FROM members m JOIN persons p USING (pseudonym) JOIN contacts f "
        f"ON f.person_id = p.person_id WHERE f.kommunekode = {HOME} AND f.year = 2023 AND f.sector = 'somatik'), "
        "(SELECT count(DISTINCT y.person_id) FROM members m JOIN persons p USING (pseudonym) JOIN residents_year y "
        f"ON y.person_id = p.person_id WHERE y.kommunekode = {HOME} AND y.year = 2023)",
    )
    (rate,) = result.blocks[0].values["kontakter_pr_1000"].values()
    assert years < cohort.size and rate == pytest.approx(1000 * contacts / years, rel=1e-6)


def test_a_small_cohort_or_group_gives_no_figures(
    small_settings: Settings, store: InMemoryCohorts, cohort: CohortPopulation
) -> None:
    """100 members in two groups of 50: a minimum of 51 refuses the groups, one of 101 the cohort."""
    groups = AnalysisService(dataclasses.replace(small_settings, cohort_min_size=51), cohorts=store)
    assert groups.run({**PATIENTS, "cohort": cohort.id}, analyst()).blocks[0].values["patienter"]
    for request in (
        {**PATIENTS, "rows": ["kohortegruppe"], "cohort": cohort.id},
        {**PATIENTS, "filters": {"kohortegruppe": ["indsats"]}, "cohort": cohort.id},
    ):
        with pytest.raises(RequestError) as refused:
            groups.run(request, analyst())
        assert [(p.field, p.code) for p in refused.value.problems] == [("cohort", "cohort_group_too_small")]
    whole = AnalysisService(dataclasses.replace(small_settings, cohort_min_size=101), cohorts=store)
    with pytest.raises(RequestError) as refused:
        whole.run({**PATIENTS, "cohort": cohort.id}, analyst())
    assert [p.code for p in refused.value.problems] == ["cohort_too_small"]
    assert "fewer than 101 persons" in str(refused.value)


def test_a_group_dimension_needs_a_cohort(service: AnalysisService) -> None:
    with pytest.raises(RequestError) as refused:
        service.run({**PATIENTS, "rows": ["kohortegruppe"]}, analyst())
    assert [p.code for p in refused.value.problems] == ["population_dimension"]


def test_a_cohort_is_its_owners_and_their_colleagues_only(service: AnalysisService, cohort: CohortPopulation) -> None:
    request = {**PATIENTS, "cohort": cohort.id}
    assert service.run(request, analyst("kollega")).blocks
    for stranger in (
        analyst("fremmed"),
        analyst("lokal", municipality=147),
        analyst("lokal", role="aggregeret"),
        Principal("lokal", Organisation("national"), frozenset({"individ"})),
    ):
        with pytest.raises(CohortNotFoundError):
            service.run(request, stranger)
    with pytest.raises(CohortNotFoundError):
        service.run({**PATIENTS, "cohort": "findes-ikke"}, analyst())


def test_every_use_is_audited_with_the_cohorts_purpose(
    small_settings: Settings, store: InMemoryCohorts, cohort: CohortPopulation, tmp_path: Path
) -> None:
    database = open_app_database(Settings(data_dir=tmp_path))
    try:
        trail = AuditTrail(database)
        audited = AnalysisService(small_settings, audit=trail, cohorts=store)
        audited.run({**PATIENTS, "cohort": cohort.id}, analyst())
        audited.run({**PATIENTS, "cohort": cohort.id}, analyst())  # from the cache: audited all the same
        records = [r.event for r in trail.records() if r.event.action == "analysis"]
        audited.close()
    finally:
        database.dispose()
    assert [(e.purpose, e.outcome) for e in records] == [(cohort.purpose, "ok")] * 2
    assert all(f"cohort {cohort.id}" in e.summary for e in records)


@pytest.fixture(scope="module")
def client(small_settings: Settings, service: AnalysisService) -> Iterator[TestClient]:
    """The API as the local principal: a user of municipality 101 holding `individ`, owner of the cohorts."""
    settings = dataclasses.replace(
        small_settings, api_auth=ApiAuth.LOCAL, local_org="kommune:101", local_role="individ"
    )
    local = AnalysisService(settings, cohorts=service.cohorts)
    with TestClient(create_app(settings, local)) as c:
        yield c
    local.close()


def test_the_api_answers_within_a_cohort_and_hides_others(client: TestClient, cohort: CohortPopulation) -> None:
    body = {**PATIENTS, "rows": ["kohortegruppe"], "cohort": cohort.id}
    answer = client.post("/api/v1/analysis", json=body)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["blocks"][0]["rows"]
    assert [r["labels"] for r in rows][:2] == [["indsats"], ["kontrol"]]
    missing = client.post("/api/v1/analysis", json={**PATIENTS, "cohort": "findes-ikke"})
    assert missing.status_code == 404  # one answer for unknown, expired and not shared
    bad = client.post("/api/v1/analysis", json={**PATIENTS, "rows": ["kohortegruppe"]})
    assert bad.status_code == 400 and bad.json()["error"]["problems"][0]["field"] == "kohortegruppe"


def test_the_profile_puts_use_beside_the_expected(service: AnalysisService, cohort: CohortPopulation) -> None:
    profile = cohort_profile(service, analyst(), cohort.id)
    assert profile.members == cohort.size == 100
    assert profile.member_years is not None and 80 <= profile.member_years <= 103  # perturbed by at most 3
    body = profile.to_json("da")
    assert body["references"] == {"kommune": "København", "land": "Hele landet"}
    admissions = body["use"][0]
    assert admissions["label"].startswith("Indlæggelser")
    for area in ("kommune", "land"):
        ref = admissions["references"][area]
        assert ref["expected"] > 0 and ref["ratio"] == pytest.approx(admissions["observed"] / ref["expected"])
        low, high = ref["interval"]
        assert low < ref["ratio"] < high
        assert "gange så mange somatiske indlæggelser som forventet" in ref["reading"]
    assert next(f["label"] for f in body["conditions"]) == "Borgere med diabetes"
    english = cohort_profile(service, analyst(), cohort.id, "en").to_json("en")
    assert "times as many somatic admissions as expected" in english["use"][0]["references"]["land"]["reading"]


def test_the_api_gives_the_profile_to_those_who_may_use_the_cohort(
    client: TestClient, cohort: CohortPopulation, small_settings: Settings, service: AnalysisService
) -> None:
    answer = client.get(f"/api/v1/cohorts/{cohort.id}/profile?lang=en")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["members"] == cohort.size and body["references"]["land"] == "Denmark"
    assert "as expected" in body["use"][0]["references"]["kommune"]["reading"]
    assert client.get("/api/v1/cohorts/findes-ikke/profile").status_code == 404
    aggregate = dataclasses.replace(
        small_settings, api_auth=ApiAuth.LOCAL, local_org="kommune:101", local_role="aggregeret"
    )
    with TestClient(create_app(aggregate, service), raise_server_exceptions=True) as other:
        assert other.get(f"/api/v1/cohorts/{cohort.id}/profile").status_code == 403  # no individ


@pytest.fixture(scope="module")
def dated(
    small_settings: Settings,
    small_load: LoadResult,
    people: dict[str, str | None],
    folder: Path,
    store: InMemoryCohorts,
) -> CohortPopulation:
    """200 citizens of the municipality with index dates in 2023, in two groups."""
    chosen = [n for n, k in people.items() if k == "0101"][:200]
    days = [date(2023, 1 + i % 12, 1 + i % 28) for i in range(len(chosen))]
    groups = ["indsats" if i % 2 else "kontrol" for i in range(len(chosen))]
    return store.add(make_cohort(small_settings, folder, chosen, cohort_id="dated", groups=groups, index_dates=days))


def test_before_and_after_is_aligned_at_each_persons_index_month(
    service: AnalysisService, dated: CohortPopulation, small_load: LoadResult
) -> None:
    series = cohort_series(service, analyst(), dated.id, "kontakter", months=6)
    assert set(series.lines) == {"indsats", "kontrol"}
    assert [p.month for p in series.lines["indsats"]] == list(range(-6, 7))
    # Members seen: every member at month 0; at +6 only those whose index month is July or earlier.
    (zero,) = [p for p in series.lines["kontrol"] if p.month == 0]
    (late,) = [p for p in series.lines["kontrol"] if p.month == 6]
    assert zero.members == 100 and late.members == sum(
        1 for m in dated.members if m.group == "kontrol" and m.index_date and m.index_date.month <= 6
    )
    # The whole cohort's contacts in its index months, straight from the release (own citizens: exact).
    exact = service.run(
        {
            "perspective": "somatik",
            "measures": ["kontakter"],
            "rows": ["kohortemaaned"],
            "filters": {"kohortemaaned": [0], "kommune": [HOME]},
            "cohort": dated.id,
            "period": {"from": "2022", "to": "2023"},
        },
        analyst(),
    )
    ((truth,),) = _release_persons(
        small_load,
        dated,
        "SELECT count(*) FROM members m JOIN persons p USING (pseudonym) JOIN contacts f ON f.person_id = p.person_id "
        f"WHERE f.sector = 'somatik' AND f.kommunekode = {HOME} "
        "AND f.year * 12 + f.month = year(m.index_date) * 12 + month(m.index_date)",
    )
    assert exact.provenance.exact and exact.blocks[0].values["kontakter"][(0, TOTAL)] == truth
    assert series.difference is not None
    assert series.difference.low < series.difference.value < series.difference.high
    body = series.to_json()
    assert body["difference"]["groups"] == ["indsats", "kontrol"] and len(body["lines"]["kontrol"]) == 13


def test_before_and_after_needs_index_dates(service: AnalysisService, cohort: CohortPopulation) -> None:
    with pytest.raises(RequestError) as refused:
        cohort_series(service, analyst(), cohort.id)
    assert [p.code for p in refused.value.problems] == ["cohort_dated_too_small"]


def test_the_api_gives_the_series(client: TestClient, dated: CohortPopulation) -> None:
    answer = client.get(f"/api/v1/cohorts/{dated.id}/series?measure=laegekontakter&months=3")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["months"] == 3 and [p["month"] for p in body["lines"]["indsats"]] == [-3, -2, -1, 0, 1, 2, 3]
    assert client.get(f"/api/v1/cohorts/{dated.id}/series?measure=ukendt").status_code == 400
    assert client.get(f"/api/v1/cohorts/{dated.id}/series?months=37").status_code == 400


def test_the_individual_table_holds_own_citizens_only_and_downloads_no_view_only_column(
    small_settings: Settings, store: InMemoryCohorts, cohort: CohortPopulation, tmp_path: Path, small_load: LoadResult
) -> None:
    database = open_app_database(Settings(data_dir=tmp_path))
    try:
        audited = AnalysisService(small_settings, audit=AuditTrail(database), cohorts=store)
        table = individual_table(audited, analyst(), cohort.id)
        download = individual_table(audited, analyst(), cohort.id, download=True)
        records = [r.event for r in AuditTrail(database).records()]
        with pytest.raises(ForbiddenError):
            individual_table(audited, analyst(role="aggregeret"), cohort.id)
        audited.close()
    finally:
        database.dispose()
    # 60 members were the municipality's citizens on the release's last day; the 40 others never show.
    assert [r["line"] for r in table.rows] == list(range(2, 62))
    assert {r["reference"] for r in table.rows} == {f"S-{i:04d}" for i in range(1, 61)}
    ((admissions,),) = _release_persons(
        small_load,
        cohort,
        "SELECT sum(y.admissions) FROM members m JOIN persons p USING (pseudonym) JOIN person_year y "
        "ON y.person_id = p.person_id WHERE y.year = 2023 AND m.line < 62",
    )
    assert sum(r["indlaeggelser"] for r in table.rows) == admissions
    page_header = table.header("da", downloadable_only=False)
    assert "Diagnoser ved indlæggelse (ICD-10)" in page_header
    text = download.to_csv("da")
    assert "Diagnoser" not in text and "Egen reference" in text and "S-0001" in text
    assert all(m.pseudonym not in text for m in cohort.members)
    assert "Diagnoser" not in str(download.to_json("da"))
    assert [(e.action, e.purpose, e.rows_returned) for e in records] == [
        ("individual_view", cohort.purpose, 60),
        ("individual_export", cohort.purpose, 60),
    ]


def test_koes_query_names_the_cohort_and_says_when_it_is_not_there(
    tmp_path: Path, small_settings: Settings, small_load: LoadResult
) -> None:
    """The command line passes --cohort into the request; without a store wired in, no cohort is found."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(PATIENTS), encoding="utf-8")
    common = ("--warehouse", str(small_settings.warehouse), "--cohort", "k100")
    run = koes(tmp_path / "data", "query", str(path), *common)
    assert run.exit_code == 1 and "no cohort 'k100' for you" in run.output
    explained = koes(tmp_path / "data", "query", str(path), "--explain", *common)
    assert explained.exit_code == 1 and "k100" in explained.output


def test_attack_a_filtered_figure_one_person_from_the_whole_cohort_is_refused(
    small_settings: Settings, people: dict[str, str | None], folder: Path
) -> None:
    """60 members, 59 of them in "indsats": the whole cohort's figures minus those filtered to
    "indsats" would be the 60th person's. The whole is published, the filter is refused."""
    chosen = [n for n, k in people.items() if k == "0101"][:60]
    lopsided = make_cohort(small_settings, folder, chosen, cohort_id="skaev", groups=["indsats"] * 59 + ["kontrol"])
    store = InMemoryCohorts()
    store.add(lopsided)
    service = AnalysisService(small_settings, cohorts=store)
    assert service.run({**PATIENTS, "cohort": lopsided.id}, analyst()).blocks[0].values["patienter"]
    with pytest.raises(RequestError) as refused:
        service.run({**PATIENTS, "cohort": lopsided.id, "filters": {"kohortegruppe": ["indsats"]}}, analyst())
    assert [(p.field, p.code) for p in refused.value.problems] == [("cohort", "cohort_too_close")]


def test_a_large_cohorts_profile_and_series_run_as_jobs_followed_over_the_api(
    small_settings: Settings, service: AnalysisService, cohort: CohortPopulation, dated: CohortPopulation
) -> None:
    """With ``cohort_job_members`` 0 every cohort is large: 202 and a job, whose result is the answer."""
    settings = dataclasses.replace(
        small_settings, api_auth=ApiAuth.LOCAL, local_org="kommune:101", local_role="individ", cohort_job_members=0
    )
    local = AnalysisService(settings, cohorts=service.cohorts)
    with TestClient(create_app(settings, local)) as client:
        for url, key in (
            (f"/api/v1/cohorts/{cohort.id}/profile", "members"),
            (f"/api/v1/cohorts/{dated.id}/series", "lines"),
        ):
            started = client.get(url)
            assert started.status_code == 202, started.text
            href = started.json()["href"]
            assert started.headers["location"] == href and started.json()["job"]["state"] in ("queued", "running")
            job: dict[str, Any] = {}
            for _ in range(300):
                job = client.get(href).json()
                if job["state"] not in ("queued", "running"):
                    break
                assert 0 <= job["progress"] < 100
                time.sleep(0.05)
            assert job["state"] == "done" and job["progress"] == 100, job
            assert key in job["result"]
        assert client.get("/api/v1/jobs/no-such-job").status_code == 404
    local.close()
    assert json.dumps(job["result"]).count("pseudonym") == 0
