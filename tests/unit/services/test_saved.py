"""The saved-analysis service on the app database (SQLite and PostgreSQL): rules, canonical requests, audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koes.privacy.access import Principal
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.saved import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    SavedAnalysisService,
)
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from support import fast_passwords

START = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
OWN, OTHER = "kommune:101", "kommune:751"
REQUEST: dict[str, Any] = {
    "perspective": "somatik",
    "measures": ["indlaeggelser"],
    "rows": ["koen"],
    "filters": {"kommune": [751, 101]},
    "period": {"from": "2023", "to": "2023"},
}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)  # every change a second later: "newest first" is exact
        return self.now


@dataclass
class World:
    trail: AuditTrail
    users: UserService
    saved: SavedAnalysisService

    def user(self, name: str, org: str = OWN, role: str = "aggregeret") -> Principal:
        created = self.users.create_user(OPERATOR, name, organisation=org)
        self.users.grant(OPERATOR, created.id, role)
        return self.users.principal_for(created.id)

    def actions(self) -> list[tuple[str, str, str]]:
        return [
            (r.event.action, r.event.user, r.event.summary)
            for r in self.trail.records()
            if "analysis" in r.event.action
        ]


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    trail = AuditTrail(database)
    clock = Clock()
    users = UserService(trail, fast_passwords(), clock)
    yield World(trail, users, SavedAnalysisService(trail, clock=clock))
    database.dispose()


def test_save_stores_the_canonical_request_and_audits_ids_only(world: World) -> None:
    anna = world.user("anna")
    saved = world.saved.save(anna, "  Indlæggelser efter køn ", REQUEST)
    assert (saved.name, saved.shared, saved.owner, saved.organisation, saved.editable) == (
        "Indlæggelser efter køn",
        False,
        "anna",
        OWN,
        True,
    )
    assert saved.request == {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["koen"],
        "columns": [],
        "filters": {"kommune": [101, 751]},  # canonical: values sorted
        "segment": None,
        "period": {"from": "2023", "to": "2023"},
        "comparison": False,
    }
    assert world.saved.get(anna, saved.id) == saved
    assert world.actions() == [
        ("analysis.save", "anna", f'saved analysis #{saved.id} "Indlæggelser efter køn" saved: somatik [indlaeggelser]')
    ]
    assert "751" not in world.actions()[0][2]  # a filter value never reaches the trail
    assert world.trail.verify() == []


def test_every_problem_of_the_name_and_the_request_at_once(world: World) -> None:
    anna = world.user("anna")
    bad = {"perspective": "somatik", "measures": ["nope"], "rows": ["koen", "koen"], "extra": 1}
    with pytest.raises(InvalidInputError) as caught:
        world.saved.save(anna, "   ", bad)
    assert [p.field for p in caught.value.problems] == [
        "name",
        "request.extra",
        "request.measures[0]",
        "request.rows[1]",
    ]
    for name in ("x" * 121, "to\nlinjer", "cpr 010190-1234"):
        with pytest.raises(InvalidInputError) as caught:
            world.saved.save(anna, name, REQUEST)
        assert [p.field for p in caught.value.problems] == ["name"]
        assert "010190" not in str(caught.value)
    with pytest.raises(InvalidInputError) as caught:
        world.saved.save(anna, "ok", ["not", "an", "object"])
    assert [p.field for p in caught.value.problems] == ["request"]
    assert world.saved.save(anna, "x" * 120, REQUEST).name == "x" * 120
    assert [a for a, _, _ in world.actions()] == ["analysis.save"]  # refused saves store and record nothing


def test_a_name_is_unique_per_owner(world: World) -> None:
    anna, bo = world.user("anna"), world.user("bo")
    first = world.saved.save(anna, "Udtræk", REQUEST)
    with pytest.raises(ConflictError):
        world.saved.save(anna, " Udtræk ", REQUEST)
    assert world.saved.save(bo, "Udtræk", REQUEST).name == "Udtræk"
    other = world.saved.save(anna, "Andet", REQUEST)
    with pytest.raises(ConflictError):
        world.saved.update(anna, other.id, name="Udtræk")
    assert world.saved.update(anna, first.id, name="Udtræk").name == "Udtræk"  # its own name: no conflict


def test_list_shows_own_and_shared_in_the_organisation_newest_first(world: World) -> None:
    anna, bo, cai = world.user("anna"), world.user("bo"), world.user("cai", OTHER)
    mine = world.saved.save(anna, "Mit", REQUEST)
    bos_shared = world.saved.save(bo, "Bos delte", REQUEST, shared=True)
    world.saved.save(bo, "Bos private", REQUEST)
    world.saved.save(cai, "Aarhus delte", REQUEST, shared=True)
    mine_later = world.saved.save(anna, "Mit andet", REQUEST)
    assert [s.name for s in world.saved.list(anna)] == ["Mit andet", "Bos delte", "Mit"]
    world.saved.update(anna, mine.id, name="Mit omdøbte")  # a change makes it the newest
    listed = world.saved.list(anna)
    assert [s.id for s in listed] == [mine.id, mine_later.id, bos_shared.id]
    assert [s.editable for s in listed] == [True, True, False]
    assert [s.name for s in world.saved.list(cai)] == ["Aarhus delte"]


def test_what_is_not_yours_to_see_is_not_found(world: World) -> None:
    anna, bo, cai = world.user("anna"), world.user("bo"), world.user("cai", OTHER)
    bos_private = world.saved.save(bo, "Privat", REQUEST)
    cais_shared = world.saved.save(cai, "Delt i Aarhus", REQUEST, shared=True)
    for analysis_id in (bos_private.id, cais_shared.id, 10**9):
        with pytest.raises(NotFoundError) as caught:
            world.saved.get(anna, analysis_id)
        assert str(caught.value) == "no such saved analysis"  # the same words whether or not it exists
        with pytest.raises(NotFoundError):
            world.saved.update(anna, analysis_id, name="Mit nu")
        with pytest.raises(NotFoundError):
            world.saved.delete(anna, analysis_id)
    assert world.saved.get(bo, bos_private.id).name == "Privat"
    assert world.saved.get(cai, cais_shared.id).name == "Delt i Aarhus"


def test_a_colleagues_shared_analysis_is_readable_but_only_the_owner_changes_it(world: World) -> None:
    anna, bo = world.user("anna"), world.user("bo")
    shared = world.saved.save(bo, "Delt", REQUEST, shared=True)
    seen = world.saved.get(anna, shared.id)
    assert seen.editable is False and seen.request == shared.request
    with pytest.raises(ForbiddenError):
        world.saved.update(anna, shared.id, name="Stjålet")
    with pytest.raises(ForbiddenError):
        world.saved.update(anna, shared.id, shared=False)
    with pytest.raises(ForbiddenError):
        world.saved.delete(anna, shared.id)
    assert world.saved.get(bo, shared.id) == replace(shared, editable=True)
    world.saved.update(bo, shared.id, shared=False)
    with pytest.raises(NotFoundError):  # unshared again: gone from the colleague's sight
        world.saved.get(anna, shared.id)


HIDDEN = "refused, not found (no such id, or not one the caller may reach)"


def test_rename_share_replace_and_delete_are_each_audited(world: World) -> None:
    anna = world.user("anna")
    saved = world.saved.save(anna, "Første", REQUEST)
    renamed = world.saved.update(anna, saved.id, name="Andet navn")
    assert renamed.updated_at > saved.updated_at and renamed.created_at == saved.created_at
    world.saved.update(anna, saved.id, shared=True)
    new_request = {"perspective": "psykiatri", "measures": ["kontakter"], "filters": {"kommune": [751]}}
    replaced = world.saved.update(anna, saved.id, request=new_request)
    assert replaced.request["perspective"] == "psykiatri" and replaced.request["rows"] == []
    same = world.saved.update(anna, saved.id, name=" Andet navn ", shared=True)  # nothing changes
    assert same.updated_at == replaced.updated_at
    deleted = world.saved.delete(anna, saved.id)
    assert deleted.name == "Andet navn"
    with pytest.raises(NotFoundError):
        world.saved.get(anna, saved.id)
    with pytest.raises(NotFoundError):
        world.saved.delete(anna, saved.id)
    label = f'saved analysis #{saved.id} "Andet navn"'
    assert world.actions() == [
        ("analysis.save", "anna", f'saved analysis #{saved.id} "Første" saved: somatik [indlaeggelser]'),
        ("analysis.update", "anna", f'{label}: renamed from "Første"'),
        ("analysis.update", "anna", f"{label}: shared with the organisation"),
        ("analysis.update", "anna", f"{label}: request changed to psykiatri [kontakter]"),
        ("analysis.delete", "anna", f"{label} deleted"),
        # a saved analysis that is gone is "not found", like another organisation's, and recorded as refused
        ("analysis.delete", "anna", f"delete saved analysis #{saved.id}: {HIDDEN}"),
    ]
    opened = world.trail.records()[-2].event
    assert (opened.action, opened.outcome, opened.summary) == (
        "access.denied",
        "denied",
        f"open saved analysis #{saved.id}: {HIDDEN}",
    )
    assert world.trail.verify() == []


def test_an_empty_or_bad_update_changes_nothing(world: World) -> None:
    anna = world.user("anna")
    saved = world.saved.save(anna, "Mit", REQUEST)
    with pytest.raises(InvalidInputError) as caught:
        world.saved.update(anna, saved.id)
    assert [p.field for p in caught.value.problems] == ["body"]
    with pytest.raises(InvalidInputError) as caught:
        world.saved.update(anna, saved.id, name="", request={"perspective": "nope"})
    assert [p.field for p in caught.value.problems] == ["name", "request.perspective", "request.measures"]
    assert world.saved.get(anna, saved.id) == saved
    assert len(world.actions()) == 1


def test_a_deactivated_users_shared_analyses_stay_with_the_organisation(world: World) -> None:
    anna, bo = world.user("anna"), world.user("bo")
    shared = world.saved.save(bo, "Bos arbejde", REQUEST, shared=True)
    world.saved.save(bo, "Bos kladde", REQUEST)
    world.users.deactivate(OPERATOR, bo.user_id or 0)
    assert [s.name for s in world.saved.list(anna)] == ["Bos arbejde"]
    assert world.saved.get(anna, shared.id).owner == "bo"


def test_without_the_analysis_permission_or_a_stored_user(world: World) -> None:
    admin = world.user("ada", role="lokal_admin")
    with pytest.raises(ForbiddenError):
        world.saved.list(admin)
    with pytest.raises(ForbiddenError):
        world.saved.save(admin, "Mit", REQUEST)
    anna = world.user("anna")
    world.saved.save(anna, "Delt", REQUEST, shared=True)
    local = replace(anna, user="lokal", user_id=None)  # the configured local principal of api_auth = local
    assert [s.name for s in world.saved.list(local)] == ["Delt"]
    with pytest.raises(ForbiddenError):
        world.saved.save(local, "Mit", REQUEST)
