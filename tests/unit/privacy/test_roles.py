"""Roles as data: what roles.yaml implies, which grants count, who may grant what, and the scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koes.privacy import roles as r
from koes.privacy.access import Organisation, Principal, scope_for
from koes.refdata import load_refdata

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
ROLE_NAMES = ("aggregeret", "individ", "lokal_admin", "system_admin")


@dataclass(frozen=True)
class G:
    role: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


def _regions() -> dict[int, set[int]]:
    regions: dict[int, set[int]] = {}
    for m in load_refdata().municipalities:
        regions.setdefault(m.region_code, set()).add(m.code)
    return regions


REGIONS = _regions()
EVERYONE = frozenset(k for ks in REGIONS.values() for k in ks)


def test_the_shipped_roles_and_what_they_imply() -> None:
    book = r.role_book()
    assert tuple(book.roles) == ROLE_NAMES
    assert book.roles["aggregeret"].permissions == {"catalog", "analysis", "export"}
    assert book.roles["individ"].permissions == {"catalog", "analysis", "export", "individual_rows"}
    assert book.roles["lokal_admin"].permissions == {"manage_users_own_org", "view_audit_own_org", "view_data_status"}
    assert book.roles["system_admin"].permissions == {
        "manage_users_all",
        "view_audit_all",
        "manage_organisations",
        "view_data_status",
    }
    assert [n for n, role in book.roles.items() if role.totp_required] == ["individ", "lokal_admin", "system_admin"]
    assert [n for n, role in book.roles.items() if role.delegable] == ["aggregeret", "individ"]
    assert r.data_roles() == ("aggregeret", "individ")
    assert r.data_level(["lokal_admin", "system_admin"]) == "none"
    assert r.data_level(["aggregeret", "individ"]) == "individual"
    assert r.permissions_of(["no-such-role"]) == frozenset()


def test_a_broken_roles_file_is_refused_with_every_problem() -> None:
    with pytest.raises(r.RolesError) as caught:
        r.parse_roles(
            {
                "permissions": {"analysis": "x"},
                "roles": {"a": {"data": "some", "permissions": ["analysis", "fly"], "totp_required": "yes"}},
            }
        )
    message = str(caught.value)
    for part in ("unknown permission(s) fly", "data must be one of", "totp_required must be", "manage_users_own_org"):
        assert part in message


@pytest.mark.parametrize(
    ("actor", "role", "same", "expected"),
    [
        (["system_admin"], "system_admin", False, True),
        (["system_admin"], "aggregeret", False, True),
        (["lokal_admin"], "aggregeret", True, False),  # does not hold it
        (["lokal_admin", "aggregeret"], "aggregeret", True, True),
        (["lokal_admin", "aggregeret"], "aggregeret", False, False),  # another organisation
        (["lokal_admin", "aggregeret"], "individ", True, False),
        (["lokal_admin", "individ"], "individ", True, True),
        (["lokal_admin"], "lokal_admin", True, False),  # admin roles come from a system administrator
        (["aggregeret", "individ"], "aggregeret", True, False),  # not an administrator
        (["system_admin"], "no-such-role", True, False),
    ],
)
def test_who_may_grant_what(actor: list[str], role: str, same: bool, expected: bool) -> None:
    assert r.may_grant(actor, role, same_organisation=same) is expected


def test_grantable_roles() -> None:
    assert r.grantable_roles(["lokal_admin", "aggregeret", "individ"]) == ("aggregeret", "individ")
    assert r.grantable_roles(["system_admin"]) == ROLE_NAMES
    assert r.grantable_roles(["individ"]) == ()


def test_validity_of_grants_at_the_edges() -> None:
    g = G("aggregeret", NOW - timedelta(days=1), NOW + timedelta(seconds=1))
    assert r.valid_roles([g], NOW) == {"aggregeret"}
    assert r.valid_roles([g], NOW + timedelta(seconds=1)) == frozenset()  # expired: at once
    assert r.valid_roles([g], NOW - timedelta(days=2)) == frozenset()  # not started
    assert r.valid_roles([g], NOW, active=False) == frozenset()
    revoked = G("individ", NOW - timedelta(days=1), NOW + timedelta(days=1), NOW - timedelta(seconds=1))
    assert r.valid_roles([g, revoked], NOW) == {"aggregeret"}
    assert r.valid_roles([G("root", NOW, NOW + timedelta(days=1))], NOW) == frozenset()


grants = st.lists(
    st.builds(
        G,
        role=st.sampled_from([*ROLE_NAMES, "ukendt"]),
        granted_at=st.integers(-400, 10).map(lambda d: NOW + timedelta(days=d)),
        expires_at=st.integers(-10, 400).map(lambda d: NOW + timedelta(days=d, seconds=1)),
        revoked_at=st.none() | st.integers(-30, 30).map(lambda d: NOW + timedelta(days=d)),
    ),
    max_size=6,
)


@given(grants=grants, active=st.booleans(), kind=st.sampled_from(["kommune:101", "region:1084", "national"]))
def test_scope_comes_from_valid_grants_only(grants: list[G], active: bool, kind: str) -> None:
    """Default deny: no valid data grant, no data; exact figures only with a valid individ grant, own citizens."""
    valid = r.valid_roles(grants, NOW, active=active)
    assert valid == {
        g.role
        for g in grants
        if active
        and g.role in ROLE_NAMES
        and g.granted_at <= NOW < g.expires_at
        and (g.revoked_at is None or g.revoked_at > NOW)
    }
    principal = Principal("x", Organisation.parse(kind), valid)
    scope = scope_for(principal, REGIONS)
    if not valid & {"aggregeret", "individ"}:
        assert scope.kommuner == frozenset() and scope.exact == frozenset()
        return
    assert scope.kommuner == EVERYONE  # aggregates: every municipality, to compare with
    if "individ" not in valid:
        assert scope.exact == frozenset()
    elif kind == "kommune:101":
        assert scope.exact == {101}
    elif kind == "region:1084":
        assert scope.exact == REGIONS[1084]
    else:
        assert scope.exact == EVERYONE


@given(roles=st.frozensets(st.sampled_from([*ROLE_NAMES, "ukendt"])))
def test_permissions_are_the_union_of_the_roles(roles: frozenset[str]) -> None:
    expected: set[str] = set()
    for name in roles & set(ROLE_NAMES):
        expected |= r.role_book().roles[name].permissions
    assert r.permissions_of(roles) == expected
    principal = Principal("x", Organisation("kommune", 101), roles)
    assert principal.permissions == expected
    assert all(principal.may(p) for p in expected)


def test_endpoint_rules() -> None:
    assert r.allowed(r.public(), None)
    assert not r.allowed(r.signed_in(), None)
    assert r.allowed(r.signed_in(), [])
    assert r.allowed(r.needs("analysis"), ["individ"])
    assert not r.allowed(r.needs("analysis"), ["lokal_admin", "system_admin"])
    users = r.needs_org("manage_users")
    assert users.org_scoped and users.all_orgs == "manage_users_all"
    assert r.allowed(users, ["lokal_admin"]) and not r.reaches_all_orgs(users, ["lokal_admin"])
    assert r.reaches_all_orgs(users, ["system_admin"])
    with pytest.raises(r.RolesError):
        r.needs("fly")
