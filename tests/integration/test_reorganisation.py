"""Region Østdanmark as an organisation (SQLite and PostgreSQL): the national authority creates it,
moves the users of Region Hovedstaden and Region Sjælland with their grants, every step audited;
a user of a region that ceased is told so by the analysis service, the API and the pages."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from koes.appdb.database import AppDatabase
from koes.privacy.access import Organisation, Principal
from koes.refdata import RefData
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.ceased import OrganisationCeasedError, successors
from koes.services.errors import ConflictError, ForbiddenError, NotFoundError
from koes.services.reorganisation import ReorganisationService
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from support import SettableClock, api_token, bearer, fast_passwords

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NEW_YEAR_2027 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PASSWORD = "Korrekt-hest-batteri"


@dataclass
class World:
    database: AppDatabase
    trail: AuditTrail
    users: UserService
    reorganise: ReorganisationService

    def user(self, name: str, org: str, *roles: str) -> int:
        created = self.users.create_user(OPERATOR, name, organisation=org, password=PASSWORD)
        for role in roles:
            self.users.grant(OPERATOR, created.id, role)
        return created.id


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    trail = AuditTrail(database)
    clock = SettableClock(NEW_YEAR_2027)
    users = UserService(trail, fast_passwords(), clock)
    yield World(database, trail, users, ReorganisationService(trail, refdata.geography, clock))
    database.dispose()


def test_ostdanmark_succeeds_both_old_regions(refdata: RefData) -> None:
    assert successors(refdata.geography, 1084) == successors(refdata.geography, 1085) == (1086,)
    assert successors(refdata.geography, 1081) == ()


def test_the_seeded_ostdanmark_takes_the_old_regions_users_with_their_grants(world: World) -> None:
    """Region Østdanmark is seeded from the reference data: nobody has to create it before moving."""
    hanne = world.user("hanne", "region:1084", "aggregeret")
    sofie = world.user("sofie", "region:1085", "aggregeret")
    world.user("kaj", "kommune:101", "aggregeret")
    assert world.reorganise.move_users(OPERATOR, "region:1084", "region:1086") == ["hanne"]
    assert world.reorganise.move_users(OPERATOR, "region:1085", "region:1086") == ["sofie"]
    for user_id in (hanne, sofie):
        moved = world.users.principal_for(user_id)
        assert str(moved.organisation) == "region:1086" and "aggregeret" in moved.roles
    assert [u.username for u in world.users.users(OPERATOR, "region:1084")] == []
    moves = [r.event.summary for r in world.trail.records() if r.event.action == "user.move"]
    assert moves == [
        f"user hanne (#{hanne}) moved from region:1084 to region:1086, grants kept",
        f"user sofie (#{sofie}) moved from region:1085 to region:1086, grants kept",
    ]


def test_a_region_missing_from_an_older_database_is_created_once_and_audited(world: World) -> None:
    """A database seeded before the reference data declared Region Østdanmark (and not started since)."""
    with world.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM organisations WHERE key = 'region:1086'"))
    with pytest.raises(NotFoundError):  # not an organisation until created
        world.reorganise.move_users(OPERATOR, "region:1084", "region:1086")
    row = world.reorganise.create_region(OPERATOR, 1086)
    assert (row.key, row.name) == ("region:1086", "Region Østdanmark")
    with pytest.raises(ConflictError):
        world.reorganise.create_region(OPERATOR, 1086)
    created = [r.event.summary for r in world.trail.records() if r.event.action == "organisation.create"]
    assert created == ["organisation region:1086 Region Østdanmark (provisional code) created, from 2027-01-01"]


def test_only_a_successor_takes_the_users_and_only_a_national_administrator_moves_them(world: World) -> None:
    with pytest.raises(ConflictError):
        world.reorganise.move_users(OPERATOR, "region:1084", "region:1081")
    with pytest.raises(ConflictError):
        world.reorganise.move_users(OPERATOR, "kommune:101", "region:1086")
    local_admin = world.users.principal_for(world.user("lis", "region:1084", "lokal_admin"))
    with pytest.raises(ForbiddenError):
        world.reorganise.create_region(local_admin, 1086)
    with pytest.raises(ForbiddenError):
        world.reorganise.move_users(local_admin, "region:1084", "region:1086")


def test_a_user_of_a_ceased_region_is_told_so(small_load: LoadResult, small_settings: Settings) -> None:
    service = AnalysisService(small_settings)
    old = Principal("hanne", Organisation("region", 1084), frozenset({"aggregeret"}))
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
    try:
        service.today = lambda: date(2026, 12, 31)
        assert service.run(request, old).blocks  # the last day of Region Hovedstaden
        service.today = lambda: date(2027, 1, 1)
        with pytest.raises(OrganisationCeasedError) as caught:
            service.run(request, old)
        assert caught.value.ceased.message("da") == (
            "Din organisation, Region Hovedstaden, ophørte 2026-12-31. "
            "Bed den nationale administrator om at flytte din bruger til Region Østdanmark."
        )
        new = Principal("hanne", Organisation("region", 1086), frozenset({"aggregeret", "individ"}))
        east = service.scope_of(new).exact  # its own citizens: the 46 municipalities' history too
        assert len(east) == 46 and {101, 265} <= east
    finally:
        service.close()


def test_the_api_says_why_a_ceased_region_gets_no_data(small_load: LoadResult, small_settings: Settings) -> None:
    service = AnalysisService(small_settings)
    service.today = lambda: date(2027, 1, 1)
    token = api_token(small_settings, ["aggregeret"], "region:1085")
    try:
        with TestClient(create_app(small_settings, service), headers=bearer(token)) as client:
            response = client.post("/api/v1/analysis", json={"perspective": "somatik", "measures": ["indlaeggelser"]})
    finally:
        service.close()
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Your organisation, Region Sjælland, ceased on 2026-12-31. "
        "Ask the national administrator to move your user to Region Østdanmark."
    )
