"""Schemathesis against the published OpenAPI, signed in: no 5xx, and every error in the one envelope.

The schema is the app's own ``/api/v1/openapi.json``; requests go to the ASGI app in-process (no
network). Every operation is exercised three times: as an ``aggregeret`` analyst, as a
``system_admin`` (so the administration endpoints run past the permission gate) and as an
``individ`` caseworker (so do the cohort endpoints, multipart uploads included). Each caller has
an app database of its own, seeded with a few other users. After a successful POST or DELETE the
caller gets its role back (if a generated ``DELETE /grants/{id}`` revoked it) and a fresh token (a
``DELETE /tokens/{id}`` may revoke it): the rest of the run must not turn into 401s and 403s.
Deterministic and bounded: Hypothesis is derandomized, does not shrink, and makes a few examples
per operation, with valid (positive) and invalid (negative) data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.generation.modes import GenerationMode
from schemathesis.python import asgi

from koes.services.analysis import AnalysisService
from koes.services.users import OPERATOR
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.api import endpoint_permissions
from koes.web.app import create_app
from koes.web.errors import CODES, install_error_handlers
from support import bearer, fast_passwords, unique_name

ENDPOINT_PERMISSIONS = endpoint_permissions()

pytestmark = pytest.mark.xdist_group("schemathesis")

ROLES = ("aggregeret", "system_admin", "individ")
MAX_EXAMPLES = 8  # per operation, mode and caller: 16 operations × 2 modes × 2 callers stay well under a minute
# The documented operations: all of the table but the docs page and the schema itself.
ENDPOINTS_WITH_A_SCHEMA = [key for key in ENDPOINT_PERMISSIONS if not key[1].endswith(("/docs", "/openapi.json"))]


@dataclass
class Caller:
    role: str
    schema: Any  # schemathesis' BaseSchema
    app: Any  # the FastAPI app
    user_id: int
    token: str = ""
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def restore(self) -> None:
        """Give back the role (DELETE /grants/{id} may revoke it) and a fresh token (DELETE /tokens/{id} may)."""
        users = self.app.state.users
        if self.role not in users.principal_for(self.user_id).roles:
            users.grant(OPERATOR, self.user_id, self.role)
        self.token = self.app.state.tokens.create_for(OPERATOR, self.user_id, "schemathesis").secret


@pytest.fixture(scope="module", params=ROLES)
def caller(
    request: pytest.FixtureRequest,
    small_load: LoadResult,
    small_settings: Settings,
    analysis: AnalysisService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Caller]:
    """A signed-in user of kommune:101 with one role, in an app database of its own, and the app's schema."""
    role: str = request.param
    folder = tmp_path_factory.mktemp(f"schemathesis-{role}")
    app = create_app(replace(small_settings, app_db_url=f"sqlite:///{folder / 'app.db'}"), analysis)
    users = app.state.users
    users.passwords = fast_passwords()
    user = users.create_user(OPERATOR, f"st-{unique_name()}", organisation="kommune:101")
    users.grant(OPERATOR, user.id, role)
    for org, granted in (("kommune:101", "aggregeret"), ("kommune:751", "individ"), ("national", "lokal_admin")):
        other = users.create_user(OPERATOR, f"other-{unique_name()}", organisation=org)
        users.grant(OPERATOR, other.id, granted)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    signed_in = Caller(role, schema, app, user.id)
    signed_in.restore()
    try:
        yield signed_in
    finally:
        # Schemathesis keeps an app's lifespan running until the process ends; end it here, with the module.
        asgi.shutdown_lifespans()


def test_no_server_errors_and_one_error_envelope(caller: Caller) -> None:
    """Every operation, with valid and invalid data; all failures are reported together, by operation."""
    failures: dict[str, str] = {}
    operations = 0
    for result in caller.schema.get_all_operations():
        operation = result.ok()  # an invalid operation in the published schema fails here
        operations += 1
        for mode in GenerationMode:
            try:
                _exercise(caller, operation.as_strategy(generation_mode=mode))
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # no parameters and no body (GET /health): nothing can be made invalid
            except (Exception, FailureGroup) as exc:  # collect, so one run names every failing operation
                failures[f"{operation.method.upper()} {operation.path} ({mode})"] = f"{type(exc).__name__}: {exc}"
    assert operations >= len(ENDPOINTS_WITH_A_SCHEMA)
    # Signed in: every operation got past the token check with some request.
    answered = {name for (name, status) in caller.statuses if status != 401}
    assert answered == {f"{method} {path}" for method, path in ENDPOINTS_WITH_A_SCHEMA}
    if caller.role == "system_admin":  # past the permission gate too: the administration endpoints answered 2xx
        succeeded = {name for (name, status) in caller.statuses if status < 300}
        assert {"GET /api/v1/users", "GET /api/v1/audit", "GET /api/v1/recertification"} <= succeeded
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())


def _exercise(caller: Caller, strategy: SearchStrategy[Any]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(headers=bearer(caller.token))
        caller.statuses[f"{case.method} {case.path}", response.status_code] += 1
        if case.method in ("POST", "DELETE") and response.status_code < 300:
            caller.restore()  # the call may have revoked the caller's token or grant
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            problems = envelope_problems(response.status_code, response.json())
            assert not problems, f"{case.method} {case.formatted_path} → {response.status_code}: {problems}"

    run()


def envelope_problems(status: int, body: Any) -> list[str]:
    """How ``body`` differs from ``{"error": {"status", "code", "message", "problems": [{"field", "message"}]}}``."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"not an error envelope: {body!r}"]
    error = body["error"]
    out: list[str] = []
    if set(error) != {"status", "code", "message", "problems"}:
        out.append(f"fields {sorted(error)}")
    if error.get("status") != status:
        out.append(f"status {error.get('status')!r} is not the HTTP status {status}")
    if error.get("code") != CODES.get(status, "error"):
        out.append(f"code {error.get('code')!r}")
    if not isinstance(error.get("message"), str) or not error.get("message"):
        out.append(f"message {error.get('message')!r}")
    found = error.get("problems")
    if not isinstance(found, list) or any(
        not isinstance(p, dict) or set(p) != {"field", "message"} or not all(isinstance(v, str) for v in p.values())
        for p in found
    ):
        out.append(f"problems {found!r}")
    elif status == 400 and not found:
        out.append("a 400 names no field")
    return out


def test_the_envelope_check_catches_a_wrong_envelope() -> None:
    good = {
        "error": {"status": 400, "code": "bad_request", "message": "m", "problems": [{"field": "f", "message": "x"}]}
    }
    assert envelope_problems(400, good) == []
    assert envelope_problems(404, good)  # status and code differ from the HTTP status
    assert envelope_problems(400, {"detail": "Not Found"})
    assert envelope_problems(400, {"error": {**good["error"], "problems": []}}) == ["a 400 names no field"]


def test_a_server_error_fails_the_run() -> None:
    """The harness itself: a route that fails (500 envelope, from the guard) is reported."""
    app = FastAPI(openapi_url="/api/v1/openapi.json")

    @app.get("/api/v1/boom")
    async def boom(n: int = 0) -> dict[str, int]:
        raise RuntimeError(n)

    install_error_handlers(app)
    broken = Caller("aggregeret", schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), app, 0, token="x")
    try:
        operation = next(iter(broken.schema.get_all_operations())).ok()
        with pytest.raises(FailureGroup) as found:
            _exercise(broken, operation.as_strategy())
    finally:
        asgi.shutdown_lifespans()
    assert [type(e) for e in found.value.exceptions] == [ServerError]
    assert broken.statuses["GET /api/v1/boom", 500] >= 1
