"""The API's authentication and authorisation, on SQLite and PostgreSQL app databases.

- **The authorisation matrix**: every role (and no token, and no grant) × every endpoint of the
  app (taken from its routes) × a resource of the caller's own or another organisation. The
  expected answer is derived from roles.yaml and ``ENDPOINT_PERMISSIONS``; an endpoint without an
  entry (or without a request below) fails the test.
- **Tampering**: ids and organisations of another organisation in the URL or the body never
  reach its data (404, not 403), and a municipality filter never gives exact figures elsewhere.
- Tokens of deactivated users, revoked tokens and expired grants, with an injected clock.
- **Log scan**: no password, token, TOTP secret, recovery code or CPR number in the log, the
  audit trail or the database.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import inspect, text

from cohort_support import copenhageners
from koes.appdb.database import AppDatabase
from koes.domain.cpr import mask_cpr
from koes.privacy.access import Principal
from koes.privacy.audit import TEXT_FIELDS
from koes.privacy.credentials import totp_code
from koes.privacy.roles import allowed, may_grant, reaches_all_orgs, role_names, totp_required
from koes.services.analysis import AnalysisService
from koes.services.audit import AuditTrail
from koes.services.cohort_store import UploadRequest
from koes.services.saved import SavedAnalysisService
from koes.services.signin import SignInService
from koes.services.tokens import TokenService
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.api import endpoint_permissions
from koes.web.app import create_app
from koes.web.auth import api_endpoints, authorise, unruled_endpoints
from support import SettableClock, bearer, fast_passwords, unique_name

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

OWN, OTHER = "kommune:101", "kommune:751"
ENDPOINT_PERMISSIONS = endpoint_permissions()
GRANTED_ROLE = "individ"  # what the grant endpoints try to grant and revoke
PASSWORD = "Korrekt-hest-batteri"
REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
# Callers of the matrix: None is "no token"; every other caller is a user of OWN with these roles.
CALLERS: dict[str, tuple[str, ...] | None] = {
    "no token": None,
    "no grant": (),
    **{role: (role,) for role in role_names()},
    "lokal_admin+individ": ("lokal_admin", "individ"),
}


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__()


@dataclass
class World:
    client: TestClient
    app: FastAPI
    database: AppDatabase
    users: UserService
    tokens: TokenService
    clock: Clock
    callers: dict[str, tuple[Principal | None, str | None]] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)  # CPR numbers of the release (cohort uploads)

    def user(self, org: str, *roles: str, password: str | None = None) -> Principal:
        created = self.users.create_user(OPERATOR, f"u-{unique_name()}", organisation=org, password=password)
        for role in roles:
            self.users.grant(OPERATOR, created.id, role)
        return self.users.principal_for(created.id)

    def users_name(self, principal: Principal) -> str:
        return principal.user

    def token(self, principal: Principal) -> str:
        return self.tokens.create_for(OPERATOR, principal.user_id or 0, "test").secret

    def grant_of(self, org: str) -> int:
        target = self.user(org)
        return self.users.grant(OPERATOR, target.user_id or 0, GRANTED_ROLE).id

    def call(self, method: str, url: str, token: str | None, body: Any = None) -> Any:
        headers = bearer(token) if token else {}
        if isinstance(body, CohortUpload):
            files = {"file": ("kohorte.csv", body.content, "text/csv")}
            return self.client.request(method, url, files=files, data={"purpose": body.purpose}, headers=headers)
        return self.client.request(method, url, json=body, headers=headers)

    def cohort_of(self, owner: Principal) -> str:
        """A cohort kept by ``owner`` (uploaded as an individ user of its organisation, whatever its roles)."""
        uploader = replace(owner, roles=frozenset({"individ"}))
        upload = CohortUpload(cohort_csv(self.people))
        kept = self.app.state.cohorts.upload(uploader, io.BytesIO(upload.content), UploadRequest(upload.purpose))
        assert kept.cohort is not None, kept.refusal
        return str(kept.cohort.id)

    @property
    def trail(self) -> AuditTrail:
        return AuditTrail(self.database)


@dataclass(frozen=True)
class CohortUpload:
    """A multipart cohort upload in the matrix (the other requests are JSON)."""

    content: bytes
    purpose: str = "Matrixtest af adgang"


def cohort_csv(people: list[str]) -> bytes:
    return ("CPR-nr.\r\n" + "".join(f"{n[:6]}-{n[6:]}\r\n" for n in people)).encode()


@pytest.fixture(scope="module")
def release_people(small_extracts: Path) -> list[str]:
    return copenhageners(small_extracts)[:12]


@pytest.fixture
def world(
    small_load: LoadResult,
    small_settings: Settings,
    analysis: AnalysisService,
    app_db_url: str,
    release_people: list[str],
) -> Iterator[World]:
    settings = replace(small_settings, app_db_url=app_db_url)
    clock = Clock()
    app = create_app(settings, analysis, clock=clock)
    users = app.state.users
    users.passwords = fast_passwords()
    with TestClient(app) as client:
        w = World(client, app, users.database, users, app.state.tokens, clock, people=release_people)
        for name, roles in CALLERS.items():
            if roles is None:
                w.callers[name] = (None, None)
            else:
                principal = w.user(OWN, *roles)
                w.callers[name] = (principal, w.token(principal))
        yield w


# --- the matrix ------------------------------------------------------------------------------

Build = Callable[[World, Principal | None, bool], tuple[str, Any]]
V1 = "/api/v1"


def _org(own: bool) -> str:
    return OWN if own else OTHER


def _user_id(w: World, own: bool) -> int:
    return w.user(_org(own)).user_id or 0


def _deactivated_id(w: World, own: bool) -> int:
    user_id = _user_id(w, own)
    w.users.deactivate(OPERATOR, user_id)
    return user_id


def _token_id(w: World, caller: Principal | None, own: bool) -> int:
    owner = caller if own and caller is not None and caller.user_id else w.user(OTHER)
    return w.tokens.create_for(OPERATOR, owner.user_id or 0, "x").info.id


def _cohort_id(w: World, caller: Principal | None, own: bool) -> str:
    """Own: the caller's own cohort if it may keep one, else a colleague's (a local administrator
    deletes those). Other: a cohort of another organisation."""
    if own and caller is not None and caller.may("individual_rows"):
        return w.cohort_of(caller)
    return w.cohort_of(w.user(_org(own), "individ"))


def _saved_id(w: World, caller: Principal | None, own: bool) -> int:
    """Own: the caller's own saved analysis (a new user's without a token). Other: another organisation's,
    shared there (sharing never crosses organisations)."""
    owner = caller if own and caller is not None and caller.user_id else w.user(_org(own))
    # Saved as the owner with the analysis permission, whatever the caller's roles: the matrix tests the API.
    analyst = replace(owner, roles=frozenset({"aggregeret"}))
    saved = SavedAnalysisService(AuditTrail(w.database)).save(analyst, f"m-{unique_name()}", REQUEST, shared=True)
    return saved.id


# One request per endpoint: (url, JSON body), for a resource of the caller's own organisation or another's.
REQUESTS: dict[tuple[str, str], Build] = {
    ("GET", f"{V1}/health"): lambda w, c, own: (f"{V1}/health", None),
    ("GET", f"{V1}/ready"): lambda w, c, own: (f"{V1}/ready", None),
    ("GET", f"{V1}/docs"): lambda w, c, own: (f"{V1}/docs", None),
    ("GET", f"{V1}/openapi.json"): lambda w, c, own: (f"{V1}/openapi.json", None),
    ("GET", f"{V1}/catalog"): lambda w, c, own: (f"{V1}/catalog", None),
    ("POST", f"{V1}/analysis"): lambda w, c, own: (
        f"{V1}/analysis",
        {**REQUEST, "filters": {"kommune": [101 if own else 751]}},
    ),
    ("POST", f"{V1}/analysis/export"): lambda w, c, own: (
        f"{V1}/analysis/export?format=csv",
        {**REQUEST, "filters": {"kommune": [101 if own else 751]}},
    ),
    ("GET", f"{V1}/me"): lambda w, c, own: (f"{V1}/me", None),
    ("GET", f"{V1}/tokens"): lambda w, c, own: (f"{V1}/tokens", None),
    ("POST", f"{V1}/tokens"): lambda w, c, own: (f"{V1}/tokens", {"name": "matrix"}),
    ("DELETE", f"{V1}/tokens/{{token_id}}"): lambda w, c, own: (f"{V1}/tokens/{_token_id(w, c, own)}", None),
    ("GET", f"{V1}/users"): lambda w, c, own: (f"{V1}/users?organisation={_org(own)}", None),
    ("POST", f"{V1}/users"): lambda w, c, own: (
        f"{V1}/users",
        {"username": f"n-{unique_name()}", "password": PASSWORD, "organisation": _org(own)},
    ),
    ("GET", f"{V1}/users/{{user_id}}"): lambda w, c, own: (f"{V1}/users/{_user_id(w, own)}", None),
    ("PATCH", f"{V1}/users/{{user_id}}"): lambda w, c, own: (
        f"{V1}/users/{_user_id(w, own)}",
        {"display_name": "Omdøbt"},
    ),
    ("POST", f"{V1}/users/{{user_id}}/grants"): lambda w, c, own: (
        f"{V1}/users/{_user_id(w, own)}/grants",
        {"role": GRANTED_ROLE},
    ),
    ("POST", f"{V1}/users/{{user_id}}/deactivate"): lambda w, c, own: (
        f"{V1}/users/{_user_id(w, own)}/deactivate",
        None,
    ),
    ("POST", f"{V1}/users/{{user_id}}/reactivate"): lambda w, c, own: (
        f"{V1}/users/{_deactivated_id(w, own)}/reactivate",
        None,
    ),
    ("POST", f"{V1}/users/{{user_id}}/reset-totp"): lambda w, c, own: (
        f"{V1}/users/{_user_id(w, own)}/reset-totp",
        None,
    ),
    ("POST", f"{V1}/users/{{user_id}}/tokens"): lambda w, c, own: (
        f"{V1}/users/{w.user(_org(own), GRANTED_ROLE).user_id}/tokens",
        {"name": "matrix", "scopes": ["analyses"]},
    ),
    ("DELETE", f"{V1}/grants/{{grant_id}}"): lambda w, c, own: (f"{V1}/grants/{w.grant_of(_org(own))}", None),
    ("GET", f"{V1}/recertification"): lambda w, c, own: (f"{V1}/recertification?days=400", None),
    ("GET", f"{V1}/audit"): lambda w, c, own: (f"{V1}/audit?organisation={_org(own)}", None),
    ("GET", f"{V1}/reports"): lambda w, c, own: (f"{V1}/reports", None),
    ("GET", f"{V1}/cohorts/{{cohort_id}}/profile"): lambda w, c, own: (f"{V1}/cohorts/k1/profile", None),
    ("GET", f"{V1}/cohorts/{{cohort_id}}/series"): lambda w, c, own: (f"{V1}/cohorts/k1/series", None),
    ("GET", f"{V1}/cohorts/{{cohort_id}}/individuals"): lambda w, c, own: (f"{V1}/cohorts/k1/individuals", None),
    ("GET", f"{V1}/jobs"): lambda w, c, own: (f"{V1}/jobs", None),  # the caller's own jobs (none here)
    ("GET", f"{V1}/jobs/{{job_id}}"): lambda w, c, own: (f"{V1}/jobs/no-such-job", None),
    # Reports compare any municipality (suppressed figures for all): the other organisation's is allowed too.
    ("GET", f"{V1}/reports/{{report_id}}"): lambda w, c, own: (
        f"{V1}/reports/genindlaeggelser?municipality={101 if own else 751}",
        None,
    ),
    ("GET", f"{V1}/reports/{{report_id}}/export"): lambda w, c, own: (
        f"{V1}/reports/genindlaeggelser/export?municipality={101 if own else 751}",
        None,
    ),
    ("GET", f"{V1}/analyses"): lambda w, c, own: (f"{V1}/analyses", None),
    ("POST", f"{V1}/analyses"): lambda w, c, own: (
        f"{V1}/analyses",
        {"name": f"m-{unique_name()}", "request": REQUEST, "shared": True},
    ),
    ("GET", f"{V1}/analyses/{{analysis_id}}"): lambda w, c, own: (f"{V1}/analyses/{_saved_id(w, c, own)}", None),
    ("PATCH", f"{V1}/analyses/{{analysis_id}}"): lambda w, c, own: (
        f"{V1}/analyses/{_saved_id(w, c, own)}",
        {"name": f"m-{unique_name()}"},
    ),
    ("DELETE", f"{V1}/analyses/{{analysis_id}}"): lambda w, c, own: (f"{V1}/analyses/{_saved_id(w, c, own)}", None),
    # A cohort is uploaded for the caller's own municipality: "other" changes nothing there.
    ("POST", f"{V1}/cohorts"): lambda w, c, own: (f"{V1}/cohorts", CohortUpload(cohort_csv(w.people))),
    ("GET", f"{V1}/cohorts"): lambda w, c, own: (f"{V1}/cohorts", None),
    ("GET", f"{V1}/cohorts/{{cohort_id}}"): lambda w, c, own: (f"{V1}/cohorts/{_cohort_id(w, c, own)}", None),
    ("GET", f"{V1}/cohorts/{{cohort_id}}/report"): lambda w, c, own: (
        f"{V1}/cohorts/{_cohort_id(w, c, own)}/report",
        None,
    ),
    ("DELETE", f"{V1}/cohorts/{{cohort_id}}"): lambda w, c, own: (f"{V1}/cohorts/{_cohort_id(w, c, own)}", None),
    ("POST", f"{V1}/cohorts/{{cohort_id}}/shares"): lambda w, c, own: (
        f"{V1}/cohorts/{_cohort_id(w, c, own)}/shares",
        {"users": [w.users_name(w.user(OWN, "individ"))]},
    ),
}
# Endpoints whose resource belongs to one user (the caller): another's is not found, whatever the role.
OWN_ACCOUNT = {("DELETE", f"{V1}/tokens/{{token_id}}")}
# Endpoints whose resource lives in one organisation (saved analyses): another organisation's is not found,
# whatever the role (no permission reaches across). Own: the caller's own resource (tests/integration/
# test_saved_analyses_api.py covers a colleague's: readable if shared, changeable by its owner only).
OWN_ORGANISATION = {
    ("GET", f"{V1}/analyses/{{analysis_id}}"),
    ("PATCH", f"{V1}/analyses/{{analysis_id}}"),
    ("DELETE", f"{V1}/analyses/{{analysis_id}}"),
    # Cohorts never cross organisations (tests/integration/test_cohorts_api.py covers colleagues).
    ("GET", f"{V1}/cohorts/{{cohort_id}}"),
    ("GET", f"{V1}/cohorts/{{cohort_id}}/report"),
    ("DELETE", f"{V1}/cohorts/{{cohort_id}}"),
    ("POST", f"{V1}/cohorts/{{cohort_id}}/shares"),
}
# Organisation-scoped endpoints that name no organisation (they list the caller's reach).
UNTARGETED = {("GET", f"{V1}/recertification")}
# A token an administrator makes carries only roles it may grant (the matrix target holds GRANTED_ROLE).
GRANTING = {
    ("POST", f"{V1}/users/{{user_id}}/grants"),
    ("DELETE", f"{V1}/grants/{{grant_id}}"),
    ("POST", f"{V1}/users/{{user_id}}/tokens"),
}
COHORT_FIGURES = {("GET", f"{V1}/cohorts/{{cohort_id}}/{view}") for view in ("profile", "series", "individuals")}
COHORT_FIGURES.add(("GET", f"{V1}/jobs/{{job_id}}"))  # a job that exists nowhere, likewise
STATUS = {"allow": (200, 201, 204), "unauthorized": (401,), "forbidden": (403,), "not_found": (404,)}


def expected(key: tuple[str, str], roles: tuple[str, ...] | None, own: bool) -> str:
    """What the role data says the answer must be."""
    access = ENDPOINT_PERMISSIONS[key]
    if not allowed(access, roles):
        return "unauthorized" if roles is None else "forbidden"
    assert roles is not None or access.kind == "public"
    held = roles or ()
    if key in OWN_ACCOUNT | OWN_ORGANISATION and not own:
        return "not_found"
    if access.org_scoped and key not in UNTARGETED and not own and not reaches_all_orgs(access, held):
        return "not_found"
    if key in GRANTING and not may_grant(held, GRANTED_ROLE, same_organisation=own):
        return "forbidden"
    if key == ("POST", f"{V1}/tokens") and totp_required(held):
        return "forbidden"  # its roles need TOTP: a token only from a web session that passed it, or an admin
    if key in COHORT_FIGURES:
        return "not_found"  # asked for a cohort that exists nowhere: the matrix checks the gate before the lookup
    return "allow"


def test_every_endpoint_has_an_access_rule_and_a_matrix_request(world: World) -> None:
    endpoints = api_endpoints(world.app)
    assert endpoints - set(ENDPOINT_PERMISSIONS) == set(), "endpoints without an entry in ENDPOINT_PERMISSIONS"
    assert endpoints - set(REQUESTS) == set(), "endpoints without a request in this matrix"
    assert set(ENDPOINT_PERMISSIONS) - endpoints == set(), "ENDPOINT_PERMISSIONS names endpoints that do not exist"


def test_the_authorisation_matrix(world: World) -> None:
    """Every caller × every endpoint × own/other organisation answers as roles.yaml says."""
    wrong = []
    seen = set()
    for key in sorted(api_endpoints(world.app)):
        for name, roles in CALLERS.items():
            caller, token = world.callers[name]
            for own in (True, False):
                want = expected(key, roles, own)
                seen.add(want)
                url, body = REQUESTS[key](world, caller, own)
                response = world.call(key[0], url, token, body)
                if response.status_code not in STATUS[want]:
                    where = "own" if own else "other"
                    wrong.append(f"{key[0]} {key[1]} as {name} ({where}): {response.status_code}, expected {want}")
    assert wrong == []
    assert seen == set(STATUS)  # every kind of answer was expected somewhere: the matrix is not vacuous


def test_an_endpoint_without_a_rule_is_refused_for_everyone(world: World) -> None:
    extra = APIRouter(prefix=V1, dependencies=[Depends(authorise)])

    @extra.get("/new-thing")
    async def new_thing() -> dict[str, str]:
        return {"secret": "data"}

    world.app.include_router(extra)
    assert unruled_endpoints(world.app, ENDPOINT_PERMISSIONS) == [("GET", f"{V1}/new-thing")]  # the matrix fails
    _, root = world.callers["system_admin"]
    response = world.call("GET", f"{V1}/new-thing", root)
    assert response.status_code == 403 and "no access rule" in response.json()["error"]["message"]


def test_a_refusal_is_audited(world: World) -> None:
    principal, token = world.callers["lokal_admin"]
    assert world.call("POST", f"{V1}/analysis", token, REQUEST).status_code == 403
    assert world.call("GET", f"{V1}/catalog", token).status_code == 403
    _, aggregate = world.callers["aggregeret"]
    assert world.call("GET", f"{V1}/users", aggregate).status_code == 403
    denied = [r.event for r in AuditTrail(world.database).records() if r.event.outcome == "denied"]
    assert [(e.action, e.summary) for e in denied] == [
        ("analysis", "POST /api/v1/analysis; no grant gives access to data"),
        ("access.denied", "GET /api/v1/catalog; no grant gives access to data"),
        ("access.denied", "GET /api/v1/users; needs manage_users_all or manage_users_own_org"),
    ]
    assert principal is not None and denied[0].user == principal.user


# --- tampering -------------------------------------------------------------------------------


def test_another_organisations_ids_are_not_found(world: World) -> None:
    admin = world.user(OWN, "lokal_admin", "aggregeret", "individ")
    token = world.token(admin)
    theirs = world.user(OTHER, "aggregeret")
    their_grant = world.users.principal_for(theirs.user_id or 0)
    grant_id = world.users.user(OPERATOR, theirs.user_id or 0).grants[0].id
    mine = world.call("POST", f"{V1}/users", token, {"username": "kbh-ny", "password": PASSWORD}).json()
    assert world.call("POST", f"{V1}/users/{mine['id']}/grants", token, {"role": "aggregeret"}).status_code == 201
    absent = 10**9
    answered = 0  # every 404 answered below
    for method, url, body in [
        ("GET", f"{V1}/users/{theirs.user_id}", None),
        ("POST", f"{V1}/users/{theirs.user_id}/grants", {"role": "aggregeret"}),
        ("PATCH", f"{V1}/users/{theirs.user_id}", {"display_name": "Omdøbt"}),
        ("POST", f"{V1}/users/{theirs.user_id}/deactivate", None),
        ("POST", f"{V1}/users/{theirs.user_id}/reactivate", None),
        ("POST", f"{V1}/users/{theirs.user_id}/reset-totp", None),
        ("DELETE", f"{V1}/grants/{grant_id}", None),
        ("GET", f"{V1}/users?organisation={OTHER}", None),
        ("GET", f"{V1}/users?organisation=region:1084", None),  # the region around the own municipality
        ("GET", f"{V1}/audit?organisation={OTHER}", None),
        ("POST", f"{V1}/users", {"username": "indtrænger", "password": PASSWORD, "organisation": OTHER}),
        ("POST", f"{V1}/users", {"username": "indtraenger", "password": PASSWORD, "organisation": "national"}),
    ]:
        response = world.call(method, url, token, body)
        assert response.status_code == 404, (method, url, response.text)
        answered += 1
        absent_url = url.replace(str(theirs.user_id), str(absent)).replace(f"grants/{grant_id}", f"grants/{absent}")
        if absent_url != url:  # the same answer as for an id that does not exist: nothing leaks
            assert world.call(method, absent_url, token, body).json() == response.json()
            answered += 1
    # Each 404 is a refusal on record (issue 17.3), under the caller's name, whether the id exists
    # elsewhere or nowhere, and saying nothing about which.
    refusals = [r.event for r in world.trail.records() if r.event.outcome == "denied"]
    assert len(refusals) == answered, "\n".join(e.summary for e in refusals)
    assert {(e.user, e.organisation) for e in refusals} == {(admin.user, OWN)}
    assert all(e.summary.endswith("refused, not found (no such id, or not one the caller may reach)") for e in refusals)
    after = world.users.user(OPERATOR, theirs.user_id or 0)
    assert after.active and after.roles == their_grant.roles == {"aggregeret"}
    assert [u.organisation for u in world.users.users(OPERATOR, OTHER)] == [OTHER]  # nobody was created there
    listed = world.call("GET", f"{V1}/users", token).json()["users"]
    assert {u["organisation"] for u in listed} == {OWN}
    audit = world.call("GET", f"{V1}/audit?limit=1000", token).json()["records"]
    assert audit and {r["organisation"] for r in audit} == {OWN}
    expiring = world.call("GET", f"{V1}/recertification?days=400", token).json()["grants"]
    assert expiring and {g["organisation"] for g in expiring} == {OWN}
    for bad in ("0", "-1", "abc", str(2**64)):
        assert world.call("GET", f"{V1}/users/{bad}", token).status_code == 400


def test_refusals_of_the_grant_rules_and_of_self_deactivation_are_audited(world: World) -> None:
    """Issue 17.3–4: a local administrator granting system_admin, lokal_admin, a role it lacks or
    anything to itself, or deactivating itself, gets 403 and leaves one record each."""
    admin = world.user(OWN, "lokal_admin", "aggregeret")
    token = world.token(admin)
    colleague = world.user(OWN)
    before = len(world.trail.records())
    attempts = [
        ("POST", f"{V1}/users/{colleague.user_id}/grants", {"role": "system_admin"}),
        ("POST", f"{V1}/users/{colleague.user_id}/grants", {"role": "lokal_admin"}),
        ("POST", f"{V1}/users/{colleague.user_id}/grants", {"role": "individ"}),  # one it does not hold
        ("POST", f"{V1}/users/{admin.user_id}/grants", {"role": "aggregeret"}),  # to itself
        ("POST", f"{V1}/users/{admin.user_id}/deactivate", None),
    ]
    for method, url, body in attempts:
        assert world.call(method, url, token, body).status_code == 403, (url, body)
    records = [r.event for r in world.trail.records()[before:]]
    assert [(e.action, e.user, e.outcome) for e in records] == [
        ("grant.add", admin.user, "denied"),
        ("grant.add", admin.user, "denied"),
        ("grant.add", admin.user, "denied"),
        ("grant.add", admin.user, "denied"),
        ("user.deactivate", admin.user, "denied"),
    ]
    assert [e.summary for e in records] == [
        f"grant system_admin to user #{colleague.user_id}: refused, your roles do not let you grant system_admin",
        f"grant lokal_admin to user #{colleague.user_id}: refused, your roles do not let you grant lokal_admin",
        f"grant individ to user #{colleague.user_id}: refused, your roles do not let you grant individ",
        f"grant aggregeret to user #{admin.user_id}: refused, nobody grants themselves a role",
        f"deactivate user #{admin.user_id}: refused, you cannot deactivate yourself",
    ]
    assert world.users.principal_for(colleague.user_id or 0).roles == frozenset()
    assert world.users.user(OPERATOR, admin.user_id or 0).active


def test_a_token_is_limited_to_its_scopes_and_its_use_is_audited_as_its_users(world: World) -> None:
    """Issue 17.6: the scopes chosen at creation are enforced at the gate (a refusal on record), and
    what a token does is recorded under its user's name and organisation."""
    bo = world.user(OWN, "aggregeret")
    reading = world.tokens.create_for(OPERATOR, bo.user_id or 0, "read", scopes=["analyses"]).secret
    me = world.call("GET", f"{V1}/me", reading).json()
    assert me["roles"] == ["aggregeret"] and me["permissions"] == ["analysis", "catalog"]
    before = len(world.trail.records())
    assert world.call("POST", f"{V1}/analysis", reading, REQUEST).status_code == 200
    saved = world.call("POST", f"{V1}/analyses", reading, {"name": "Mit", "request": REQUEST})
    assert saved.status_code == 201
    assert world.call("POST", f"{V1}/analysis/export?format=csv", reading, REQUEST).status_code == 403
    records = [r.event for r in world.trail.records()[before:]]  # (this app's analyses are audited elsewhere)
    assert [(e.action, e.user, e.organisation, e.outcome) for e in records] == [
        ("analysis.save", bo.user, OWN, "ok"),
        ("export", bo.user, OWN, "denied"),
    ]
    assert records[1].summary == "POST /api/v1/analysis/export; needs export, outside the API token's scopes"
    listed = world.call("GET", f"{V1}/tokens", reading).json()["tokens"]
    assert [(t["scopes"], t["second_factor"]) for t in listed] == [(["analyses"], True)]  # made by the operator


def test_another_users_token_cannot_be_revoked(world: World) -> None:
    mine, my_token = world.callers["aggregeret"]
    theirs = world.user(OTHER, "aggregeret")
    their_token = world.tokens.create_for(OPERATOR, theirs.user_id or 0, "x")
    assert world.call("DELETE", f"{V1}/tokens/{their_token.info.id}", my_token).status_code == 404
    assert world.call("GET", f"{V1}/me", their_token.secret).status_code == 200
    listed = world.call("GET", f"{V1}/tokens", my_token).json()["tokens"]
    assert their_token.info.id not in {t["id"] for t in listed}
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert mine is not None


def test_a_municipality_filter_never_gives_exact_figures_elsewhere(world: World) -> None:
    _, token = world.callers["individ"]  # individ in København
    own = world.call("POST", f"{V1}/analysis", token, {**REQUEST, "filters": {"kommune": [101]}}).json()
    other = world.call("POST", f"{V1}/analysis", token, {**REQUEST, "filters": {"kommune": [751]}}).json()
    both = world.call("POST", f"{V1}/analysis", token, {**REQUEST, "filters": {"kommune": [101, 751]}}).json()
    assert own["provenance"]["exact_figures"] is True
    assert other["provenance"]["exact_figures"] is False and both["provenance"]["exact_figures"] is False


def test_tokens_stop_with_deactivation_revocation_and_expiry(world: World) -> None:
    anna = world.user(OWN)
    world.users.grant(OPERATOR, anna.user_id or 0, "aggregeret", (world.clock.now + timedelta(days=20)).date())
    token = world.tokens.create_for(OPERATOR, anna.user_id or 0, "test", days=90).secret
    assert world.call("POST", f"{V1}/analysis", token, REQUEST).status_code == 200
    # An expired grant: the token still names the user (401 is for unknown tokens) but gives no rights.
    world.clock.now += timedelta(days=30)
    assert world.call("POST", f"{V1}/analysis", token, REQUEST).status_code == 403
    assert world.call("GET", f"{V1}/me", token).json()["roles"] == []
    # An expired token names nobody.
    world.clock.now += timedelta(days=61)
    assert world.call("GET", f"{V1}/me", token).status_code == 401
    world.clock.now -= timedelta(days=91)
    world.users.grant(OPERATOR, anna.user_id or 0, "aggregeret")
    assert world.call("GET", f"{V1}/catalog", token).status_code == 200
    world.users.revoke_role(OPERATOR, anna.user_id or 0, "aggregeret")
    assert world.call("GET", f"{V1}/catalog", token).status_code == 403  # revoked: at once
    world.users.grant(OPERATOR, anna.user_id or 0, "aggregeret")
    assert world.call("GET", f"{V1}/catalog", token).status_code == 200
    second = world.call("POST", f"{V1}/tokens", token, {"name": "anden"}).json()
    assert world.call("DELETE", f"{V1}/tokens/{second['id']}", token).status_code == 200
    assert world.call("GET", f"{V1}/me", second["token"]).status_code == 401
    world.users.deactivate(OPERATOR, anna.user_id or 0)
    response = world.call("GET", f"{V1}/me", token)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_admin_endpoints_do_what_they_say(world: World) -> None:
    admin = world.user(OWN, "lokal_admin", "aggregeret")
    token = world.token(admin)
    created = world.call(
        "POST", f"{V1}/users", token, {"username": "ny-bruger", "password": "kort", "display_name": "Ny"}
    )
    assert created.status_code == 400
    assert [p["field"] for p in created.json()["error"]["problems"]] == ["password", "password"]
    created = world.call("POST", f"{V1}/users", token, {"username": "ny-bruger", "password": PASSWORD, "x": 1})
    assert [p["field"] for p in created.json()["error"]["problems"]] == ["x"]
    # JSON can carry a lone surrogate, which no UTF-8 hash can take: a problem, not a server error.
    escaped = json.dumps({"username": "ny-bruger", "password": PASSWORD + "\ud800"})  # ASCII: "\\ud800"
    headers = {**bearer(token), "content-type": "application/json"}
    created = world.client.request("POST", f"{V1}/users", content=escaped, headers=headers)
    assert created.status_code == 400, created.text
    assert [p["field"] for p in created.json()["error"]["problems"]] == ["password"]
    created = world.call("POST", f"{V1}/users", token, {"username": "ny-bruger", "password": PASSWORD})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["organisation"] == OWN and user["roles"] == [] and "password" not in json.dumps(user)
    again = world.call("POST", f"{V1}/users", token, {"username": "ny-bruger", "password": PASSWORD})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    last_day = (world.clock.now + timedelta(days=30)).date().isoformat()
    grant = world.call("POST", f"{V1}/users/{user['id']}/grants", token, {"role": "aggregeret", "expires": last_day})
    assert grant.status_code == 201 and grant.json()["expires_at"].startswith(
        (world.clock.now + timedelta(days=31)).date().isoformat()
    )
    too_long = world.call(
        "POST", f"{V1}/users/{user['id']}/grants", token, {"role": "aggregeret", "expires": "2099-01-01"}
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["problems"][0]["field"] == "expires"
    assert world.call("POST", f"{V1}/users/{admin.user_id}/grants", token, {"role": "aggregeret"}).status_code == 403
    expiring = world.call("GET", f"{V1}/recertification?days=31", token).json()["grants"]
    assert [g["id"] for g in expiring] == [grant.json()["id"]]
    assert world.call("DELETE", f"{V1}/grants/{grant.json()['id']}", token).json()["revoked_by"] == admin.user
    reset = world.call("POST", f"{V1}/users/{user['id']}/reset-totp", token)
    assert reset.status_code == 200 and reset.json()["totp_enrolled"] is False
    own = world.call("POST", f"{V1}/users/{admin.user_id}/reset-totp", token)
    assert own.status_code == 403 and "your own TOTP" in own.json()["error"]["message"]
    assert world.call("POST", f"{V1}/users/{user['id']}/deactivate", token).json()["active"] is False
    renamed = world.call("PATCH", f"{V1}/users/{user['id']}", token, {"display_name": " Ny Bruger "})
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "Ny Bruger"
    bad = world.call("PATCH", f"{V1}/users/{user['id']}", token, {"display_name": "x" * 201 + " 0101901234"})
    assert bad.status_code == 400
    assert [p["field"] for p in bad.json()["error"]["problems"]] == ["display_name", "display_name"]
    for body in ({}, {"display_name": 7}, {"display_name": "Ny", "username": "nyt-navn"}):
        assert world.call("PATCH", f"{V1}/users/{user['id']}", token, body).status_code == 400, body
    back = world.call("POST", f"{V1}/users/{user['id']}/reactivate", token)
    assert back.status_code == 200 and back.json()["active"] is True and back.json()["roles"] == []
    own = world.call("POST", f"{V1}/users/{admin.user_id}/reactivate", token)
    assert own.status_code == 403 and "reactivate yourself" in own.json()["error"]["message"]
    me = world.call("GET", f"{V1}/me", token).json()
    assert me["roles"] == ["aggregeret", "lokal_admin"] and "manage_users_own_org" in me["permissions"]
    records = world.call("GET", f"{V1}/audit", token).json()["records"]
    assert [r["action"] for r in records if r["outcome"] == "ok"][:7] == [
        "user.reactivate",
        "user.rename",
        "user.deactivate",
        "user.totp_reset",
        "grant.revoke",
        "grant.add",
        "user.create",
    ]
    assert [r["action"] for r in records if r["outcome"] == "denied"] == [  # each 403 above, newest first
        "user.reactivate",
        "user.totp_reset",
        "grant.add",
    ]
    again = world.call("GET", f"{V1}/audit", token).json()["records"]
    assert again[0]["action"] == "audit.view"  # reading the trail is itself recorded


def test_openapi_documents_the_bearer_token(world: World) -> None:
    spec = world.client.get(f"{V1}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in spec["paths"][f"{V1}/health"]["get"]
    analysis = spec["paths"][f"{V1}/analysis"]["post"]
    assert analysis["security"] == [{"bearer": []}] and "401" in analysis["responses"]
    assert {f"{V1}/users", f"{V1}/users/{{user_id}}/grants", f"{V1}/audit", f"{V1}/me"} <= set(spec["paths"])


# --- nothing secret in logs, the audit trail or the database ----------------------------------


def test_no_secret_or_cpr_in_logs_audit_or_database(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    cprs = ["0101901234", "010190-1234"]
    admin = world.user(OWN, "lokal_admin", "aggregeret", "individ")
    admin_token = world.token(admin)
    secrets.append(admin_token)
    body = {"username": "sara", "password": "Hemmelig-kode-2025-A", "display_name": "Sara"}
    secrets.append(body["password"])
    sara = world.call("POST", f"{V1}/users", admin_token, body).json()
    world.call("POST", f"{V1}/users/{sara['id']}/grants", admin_token, {"role": "individ"})
    world.call("POST", f"{V1}/users", admin_token, {"username": cprs[0], "password": "Xx-" + cprs[1]})
    world.call("POST", f"{V1}/users", admin_token, {"username": "bo", "password": "bo" + cprs[0]})
    signin = SignInService(AuditTrail(world.database), b"s" * 32, world.users)
    for attempt in ("Forkert-kode-12345", cprs[1], "Hemmelig-kode-2025-B"):
        secrets.append(attempt)
        signin.password("sara", attempt)
    signin.password(cprs[0], "Ukendt-bruger-kode-1")
    secrets.append("Ukendt-bruger-kode-1")
    enrolment = signin.enrol_totp(sara["id"])
    secrets.append(enrolment.secret)
    codes = signin.confirm_totp(sara["id"], totp_code(enrolment.secret, world.clock.now))
    secrets += codes
    assert signin.password("sara", body["password"]).outcome == "second_factor"
    assert signin.second_factor(sara["id"], codes[0]).outcome == "ok"
    analyst_token = world.token(world.user(OWN, "aggregeret"))  # the admin's roles need TOTP: no token by API
    assert world.call("POST", f"{V1}/tokens", analyst_token, {"name": "laptop " + cprs[1]}).status_code == 400
    named = world.call("POST", f"{V1}/users/{sara['id']}/tokens", admin_token, {"name": "sara " + cprs[0]})
    assert named.status_code == 400
    created = world.call("POST", f"{V1}/tokens", analyst_token, {"name": "laptop"})
    assert created.status_code == 201
    secrets.append(created.json()["token"])
    for bad in (cprs[0], "koes_" + "x" * 43, created.json()["token"] + "x"):
        assert world.call("GET", f"{V1}/me", bad).status_code == 401
    world.call("POST", f"{V1}/analysis", admin_token, {**REQUEST, "filters": {"kommune": [cprs[0]]}})

    trail = AuditTrail(world.database)
    records = trail.records()
    assert len(records) > 10
    audit_text = "\n".join(str(getattr(r.event, name) or "") for r in records for name in TEXT_FIELDS)
    texts = {
        "log": "\n".join(r.getMessage() for r in caplog.records),
        "audit csv": trail.export(fmt="csv").decode("utf-8-sig"),
        "audit json": trail.export(fmt="json").decode("utf-8"),
        "database": _dump(world.database),
    }
    for where, content in texts.items():
        for secret in [*secrets, *cprs]:
            assert secret not in content, f"a secret or a CPR number is in the {where}"
    # Hashes may hold ten digits in a row by chance: the CPR-shape check is on the texts people wrote.
    assert mask_cpr(texts["log"]) == texts["log"]
    assert mask_cpr(audit_text) == audit_text


def _dump(database: AppDatabase) -> str:
    out = []
    with database.engine.connect() as connection:
        for table in inspect(database.engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                out.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(out)
