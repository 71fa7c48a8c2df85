"""Kept cohorts on the small release and a real app database (SQLite and PostgreSQL): upload, list,
use, share, delete, expire, the differencing guard, and the audit trail they leave."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cohort_files import write_csv
from cohort_support import copenhageners
from koes.privacy.access import Principal
from koes.query.request import RequestError
from koes.refdata import RefData
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_population import StoredCohorts
from koes.services.cohort_profile import cohort_profile
from koes.services.cohort_store import (
    CohortRefusedError,
    CohortService,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UploadRequest,
    UploadResult,
)
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from support import fast_passwords

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
OWN, OTHER = "kommune:101", "kommune:751"
PURPOSE = "Opfølgning på rehabiliteringsindsats"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class World:
    trail: AuditTrail
    users: UserService
    cohorts: CohortService
    clock: Clock
    tmp: Path
    people: list[str]  # CPR numbers of the small release (10 digits), residents of 101 first

    def user(self, name: str, org: str = OWN, *roles: str) -> Principal:
        created = self.users.create_user(OPERATOR, name, organisation=org)
        for role in roles or ("individ",):
            self.users.grant(OPERATOR, created.id, role)
        return self.users.principal_for(created.id)

    def file(self, numbers: list[str], name: str = "kohorte.csv", groups: list[str] | None = None) -> Path:
        rows = [["CPR-nr.", "Indeksdato", "Gruppe", "Sagsnr."]]
        rows += [
            [f"{n[:6]}-{n[6:]}", "01-06-2023", groups[i] if groups else "indsats" if i % 2 else "kontrol", f"S-{i}"]
            for i, n in enumerate(numbers)
        ]
        return write_csv(self.tmp / name, rows)

    def upload(
        self, who: Principal, numbers: list[str], groups: list[str] | None = None, **options: object
    ) -> UploadResult:
        request = UploadRequest(purpose=str(options.pop("purpose", PURPOSE)), **options)  # type: ignore[arg-type]
        return self.cohorts.upload(who, self.file(numbers, groups=groups), request)

    def actions(self) -> list[tuple[str, str, str]]:
        return [
            (r.event.action, r.event.user, r.event.outcome) for r in self.trail.records() if "cohort" in r.event.action
        ]


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> list[str]:
    home = copenhageners(small_extracts)
    return home[:120]


@pytest.fixture
def world(
    app_db_url: str,
    tmp_path: Path,
    refdata: RefData,
    small_load: LoadResult,
    small_settings: Settings,
    people: list[str],
) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
        threads=1,
        memory_limit="1GB",
    )
    database = open_app_database(settings, refdata)
    trail = AuditTrail(database)
    clock = Clock()
    users = UserService(trail, fast_passwords(), clock)
    yield World(trail, users, CohortService(settings, trail, users, clock), clock, tmp_path, people)
    database.dispose()


def test_an_upload_keeps_pseudonyms_only_and_hands_them_to_the_analysis(world: World) -> None:
    anna = world.user("anna")
    result = world.upload(anna, world.people[:40], name="Rehab 2023")
    assert result.refusal is None and result.cohort is not None
    cohort = result.cohort
    assert (cohort.name, cohort.size, cohort.owner, cohort.organisation, cohort.purpose) == (
        "Rehab 2023",
        40,
        "anna",
        OWN,
        PURPOSE,
    )
    assert cohort.expires_at - cohort.created_at == timedelta(days=90)
    assert cohort.summary["rows_read"] == 40 and cohort.summary["groups"] == {"indsats": 20, "kontrol": 20}
    assert len(cohort.id) >= 20 and not cohort.id.isdigit()  # random, unguessable
    assert [c.id for c in world.cohorts.list(anna)] == [cohort.id]

    population = world.cohorts.population(anna, cohort.id)
    assert (population.id, population.size, population.groups) == (cohort.id, 40, ("indsats", "kontrol"))
    assert [m.line for m in population.members] == list(range(2, 42))
    assert population.members[0].reference == "S-0"
    assert {m.index_date for m in population.members} == {date(2023, 6, 1)}
    assert all(isinstance(m.birth_date, date) and m.sex in ("1", "2") for m in population.members)
    assert all(len(m.pseudonym) == 64 for m in population.members)
    assert population.member_table().num_rows == 40

    # No CPR number anywhere in the app database: not in the cohort tables, not in the audit trail.
    with world.trail.database.engine.connect() as connection:
        dumped = " ".join(
            str(row)
            for table in ("cohorts", "cohort_members", "audit_records")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert not any(n in dumped or f"{n[:6]}-{n[6:]}" in dumped for n in world.people[:40])
    assert world.actions() == [("cohort_upload", "anna", "ok"), ("cohort.use", "anna", "ok")]
    use = next(r.event for r in world.trail.records() if r.event.action == "cohort.use")
    assert use.purpose == PURPOSE and use.rows_returned == 40
    assert world.trail.verify() == []


def test_who_may_upload_and_what_an_upload_needs(world: World) -> None:
    viewer = world.user("vera", OWN, "aggregeret")
    with pytest.raises(ForbiddenError):
        world.upload(viewer, world.people[:10])
    region = world.user("rita", "region:1084")
    with pytest.raises(ForbiddenError):
        world.upload(region, world.people[:10])
    anna = world.user("anna")
    with pytest.raises(InvalidInputError) as caught:
        world.upload(anna, world.people[:10], purpose="  ", days=366)
    assert sorted(p.field for p in caught.value.problems) == ["expiry_days", "purpose"]
    with pytest.raises(InvalidInputError):
        world.upload(anna, world.people[:10], purpose="sag 010190-1234")  # a CPR number in the purpose
    longest = world.upload(anna, world.people[:10], days=365)
    assert longest.cohort is not None and longest.cohort.expires_at - longest.cohort.created_at == timedelta(days=365)
    assert list(world.actions()) == [
        ("cohort_upload", "vera", "denied"),
        ("cohort_upload", "rita", "denied"),
        ("cohort_upload", "anna", "ok"),
    ]


def test_a_refused_file_keeps_nothing_and_is_audited(world: World) -> None:
    anna = world.user("anna")
    empty = world.tmp / "tom.csv"
    empty.write_bytes(b"")
    with pytest.raises(CohortRefusedError) as caught:
        world.cohorts.upload(anna, empty, UploadRequest(purpose=PURPOSE))
    assert caught.value.code == "file_empty"
    nobody = world.upload(anna, ["0302901236"])  # valid, but in no release: no member to keep
    assert nobody.cohort is None and nobody.refusal is not None and nobody.refusal.code == "no_members"
    assert world.cohorts.list(anna) == []
    assert world.actions() == [("cohort_upload", "anna", "denied"), ("cohort_upload", "anna", "denied")]


def test_only_the_owner_and_colleagues_it_is_shared_with_see_a_cohort(world: World) -> None:
    anna, bo, ulla = world.user("anna"), world.user("bo"), world.user("ulla", OTHER)
    viewer = world.user("vera", OWN, "aggregeret")
    cohort = world.upload(anna, world.people[:20]).cohort
    assert cohort is not None
    for outsider in (bo, ulla):
        with pytest.raises(NotFoundError):
            world.cohorts.population(outsider, cohort.id)
        with pytest.raises(NotFoundError):
            world.cohorts.get(outsider, cohort.id)
        assert world.cohorts.list(outsider) == []
    with pytest.raises(NotFoundError):
        world.cohorts.share(anna, cohort.id, ["ulla"])  # never across organisations
    with pytest.raises(InvalidInputError):
        world.cohorts.share(anna, cohort.id, ["vera"])  # no individ
    shared = world.cohorts.share(anna, cohort.id, ["bo"])
    assert shared.shared_with == ("bo",)
    assert world.cohorts.population(bo, cohort.id).size == 20
    assert [c.id for c in world.cohorts.list(bo)] == [cohort.id]
    with pytest.raises(ForbiddenError):
        world.cohorts.share(bo, cohort.id, ["anna"])  # only the owner shares
    with pytest.raises(ForbiddenError):
        world.cohorts.delete(bo, cohort.id)  # nor deletes
    with pytest.raises(NotFoundError):
        world.cohorts.population(viewer, cohort.id)
    denied = [(a, u) for a, u, o in world.actions() if o == "denied"]
    assert ("cohort.use", "bo") in denied and ("cohort.use", "ulla") in denied and ("cohort.share", "anna") in denied
    assert ("cohort.share", "anna", "ok") in world.actions()
    assert world.trail.verify() == []


def test_the_owner_or_the_local_administrator_deletes(world: World) -> None:
    anna = world.user("anna")
    admin = world.user("lars", OWN, "lokal_admin")
    other_admin = world.user("lone", OTHER, "lokal_admin")
    first = world.upload(anna, world.people[:20]).cohort
    second = world.upload(anna, world.people[40:60]).cohort
    assert first is not None and second is not None
    assert {c.id for c in world.cohorts.list(admin)} == {first.id, second.id}
    assert world.cohorts.list(other_admin) == []
    with pytest.raises(NotFoundError):
        world.cohorts.delete(other_admin, first.id)
    with pytest.raises(NotFoundError):
        world.cohorts.population(admin, first.id)  # an administrator deletes, never reads members
    assert world.cohorts.delete(admin, first.id).id == first.id
    assert world.cohorts.delete(anna, second.id).id == second.id
    assert world.cohorts.list(anna) == []
    with pytest.raises(NotFoundError):
        world.cohorts.delete(anna, second.id)
    deletions = [(a, u) for a, u, o in world.actions() if a == "cohort.delete" and o == "ok"]
    assert deletions == [("cohort.delete", "lars"), ("cohort.delete", "anna")]
    with world.trail.database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cohort_members")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM cohort_traces")).scalar() == 2


def test_expiry_deletes_and_records_and_traces_are_forgotten_later(world: World) -> None:
    anna = world.user("anna")
    short = world.upload(anna, world.people[:20], days=1).cohort
    long = world.upload(anna, world.people[40:60], days=30).cohort
    assert short is not None and long is not None
    assert world.cohorts.expire(START + timedelta(hours=12)) == 0
    assert world.cohorts.expire(START + timedelta(days=2)) == 1
    assert [c.id for c in world.cohorts.list(anna)] == [long.id]
    expired = [r.event for r in world.trail.records() if r.event.action == "cohort.expire"]
    assert [(e.user, e.organisation, e.purpose) for e in expired] == [("system", OWN, PURPOSE)]
    with world.trail.database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cohort_traces")).scalar() == 1
    # Past the guard's 90 days the first trace goes; the second cohort expired meanwhile and left its own.
    assert world.cohorts.expire(START + timedelta(days=2 + 91)) == 1
    with world.trail.database.engine.connect() as connection:
        assert list(connection.execute(text("SELECT cohort_id FROM cohort_traces")).scalars()) == [long.id]


def test_attack_two_cohorts_differing_by_one_person_the_second_is_refused(world: World) -> None:
    anna, bo = world.user("anna"), world.user("bo")
    base = world.people[:50]
    assert world.upload(anna, base).cohort is not None
    plus_one = world.upload(bo, [*base, world.people[50]])  # another user of the same organisation
    assert plus_one.cohort is None and plus_one.refusal is not None and plus_one.refusal.code == "too_close"
    assert plus_one.report.rows_kept == 51  # the report still comes back
    assert "5" in plus_one.refusal.text("en")
    minus_one = world.upload(anna, base[1:])
    assert minus_one.refusal is not None and minus_one.refusal.code == "too_close"
    swapped = world.upload(anna, [*base[2:], *world.people[50:52]])  # two out, two in: 4 < 5
    assert swapped.refusal is not None
    assert world.upload(anna, base).cohort is not None  # identical: reveals nothing
    assert world.upload(anna, [*base, *world.people[50:55]]).cohort is not None  # five more: allowed
    assert world.upload(anna, world.people[60:63]).cohort is not None  # no one in common: allowed
    assert len(world.cohorts.list(anna)) == 4
    refused = [r.event for r in world.trail.records() if r.event.outcome == "denied"]
    assert [e.action for e in refused] == ["cohort_upload"] * 3 and all("too_close" in e.summary for e in refused)


def test_the_guard_remembers_a_deleted_cohort_through_its_trace(world: World) -> None:
    anna = world.user("anna")
    base = world.people[:50]
    first = world.upload(anna, base).cohort
    assert first is not None
    world.cohorts.delete(anna, first.id)
    again = world.upload(anna, [*base, world.people[50]])
    assert again.refusal is not None and again.refusal.code == "too_close"
    assert world.upload(anna, base).cohort is not None  # identical to the deleted one: allowed (exact digest)
    world.clock.now += timedelta(days=91)  # past the guard's memory
    world.cohorts.expire(world.clock.now)
    other = world.upload(anna, [*base, world.people[51]])  # still too close to the live identical one
    assert other.refusal is not None


def test_attack_a_filter_narrowing_a_cohort_to_one_person_from_another_cohort_is_refused(world: World) -> None:
    """A (40) and B = A and 6 more pass the upload guard (6 ≥ 5); B's group "x" is A and one more:
    figures of B filtered to "x" minus those of A would be that one person's, so both are refused."""
    anna, bo = world.user("anna"), world.user("bo")
    first = world.upload(anna, world.people[:40]).cohort
    second = world.upload(bo, world.people[:46], groups=["x"] * 41 + ["y"] * 5).cohort
    assert first is not None and second is not None
    narrowed = world.cohorts.population(bo, second.id)
    with pytest.raises(RequestError) as refused:
        world.cohorts.check_counted(narrowed, ("x",))
    assert [(p.field, p.code) for p in refused.value.problems] == [("cohort", "cohort_too_close")]
    with pytest.raises(RequestError):  # the other side of the subtraction, asked by A's owner
        world.cohorts.check_counted(world.cohorts.population(anna, first.id), None)
    world.cohorts.check_counted(narrowed, None)  # the whole of B: 6 from A, allowed
    world.cohorts.check_counted(narrowed, ("x", "y"))  # every group: the whole cohort


def test_attack_a_filter_narrowing_a_cohort_to_one_person_from_a_deleted_one_is_refused(world: World) -> None:
    anna = world.user("anna")
    first = world.upload(anna, world.people[:40]).cohort
    second = world.upload(anna, world.people[60:106], groups=["x"] * 41 + ["y"] * 5).cohort
    assert first is not None and second is not None
    world.cohorts.delete(anna, first.id)
    third = world.upload(anna, [*world.people[:40], *world.people[40:46]], groups=["a"] * 39 + ["b"] * 7).cohort
    assert third is not None  # 6 from the deleted one: allowed
    used = world.cohorts.population(anna, third.id)
    with pytest.raises(RequestError):  # "a" is the deleted cohort but one: the trace remembers it
        world.cohorts.check_counted(used, ("a",))
    world.cohorts.check_counted(used, ("b",))  # 7 persons, 33 from the deleted one


def test_the_name_defaults_to_the_files_never_to_a_cpr_number(world: World) -> None:
    anna = world.user("anna")
    rows = [["CPR"], *[[n] for n in world.people[:12]]]
    for filename, name in (
        ("C:\\fakepath\\Borgere i rehab.xlsx", "Borgere i rehab"),
        (f"{world.people[0]}.csv", "Kohorte"),
        (None, "Kohorte"),
    ):
        path = write_csv(world.tmp / "x.csv", rows)
        kept = world.cohorts.upload(anna, path, UploadRequest(purpose=PURPOSE, filename=filename))
        assert kept.cohort is not None and kept.cohort.name == name


def test_a_profile_page_fetches_and_guards_its_cohort_once_not_per_figure(world: World) -> None:
    """The profile is some twenty analyses of one cohort: the members are read (and the use
    recorded) once for the whole page, not for each figure, nor again for the page after the
    profile's own look at the birth dates and sexes (100,000 members took 1.6 s a read)."""
    anna = world.user("anna")
    kept = world.upload(anna, world.people[:60]).cohort
    assert kept is not None
    analysis = AnalysisService(world.cohorts.settings, audit=world.trail, cohorts=StoredCohorts(world.cohorts))
    try:
        profile = cohort_profile(analysis, anna, kept.id)
    finally:
        analysis.close()
    assert profile.members == 60
    uses = [r.event for r in world.trail.records() if r.event.action == "cohort.use"]
    assert len(uses) == 1
