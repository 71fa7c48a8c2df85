"""Users and grants: create, list, grant, revoke, rename, deactivate, reactivate, recertify; the principal of a user.

Every operation takes the acting :class:`Principal` (the API's caller, the administration pages'
signed-in user, or :data:`OPERATOR` for the command line) and checks it against the role data
(:mod:`koes.privacy.roles`):

- a **system administrator** manages every organisation and may grant any role;
- a **local administrator** manages its own organisation only and grants only delegable roles it
  holds itself; a user or grant of another organisation is *not found* for it (404, never 403,
  so it cannot even learn that the user exists);
- nobody grants themselves a role (that would let an administrator renew its own grants forever);
- nobody deactivates or reactivates themselves, resets their own TOTP or sets their own password
  here, and only a system administrator does any of these to a system administrator;
- reactivation brings no grant back: the grants still running are revoked with it, so the user
  has no rights until an administrator grants again;
- every grant has an expiry: 12 months by default, at most 24.

:func:`UserService.principal_for` is the one way from a stored user to a :class:`Principal`: only
valid grants count (unexpired, unrevoked, active user), checked at every call against the
injectable clock. Every change writes its audit record in the same transaction (``user.create``,
``grant.add``, ``grant.revoke``, ``user.rename``, ``user.deactivate``, ``user.reactivate``,
``user.password``, ``user.totp_reset``); no password, hash or secret is ever in one.

A problem carries a code for the pages (:class:`FieldProblem` ``code``, :class:`ForbiddenError`
``code``); the English message stays what the API and the CLI show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from koes.appdb import credentials as creds
from koes.appdb import users as store
from koes.appdb.sessions import revoke_sessions_of
from koes.appdb.users import GrantRow, UserRow
from koes.privacy import roles as role_data
from koes.privacy.access import Organisation, Principal
from koes.privacy.audit import AuditEvent
from koes.privacy.credentials import Passwords
from koes.query.request import FieldProblem
from koes.services.audit import AuditTrail
from koes.services.audit_reading import AuditPage, AuditReading
from koes.services.errors import Clock, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, utc_now
from koes.services.reach import may_reach, not_found, organisation_key, reach, reaches_all, require
from koes.services.refusals import audits_refusals
from koes.services.user_records import GrantInfo, UserInfo, admin_event
from koes.services.user_rules import (
    display_name_problems,
    grant_expiry,
    password_field_problems,
    username_field_problems,
)

__all__ = ["OPERATOR", "AuditPage", "UserService"]

# The command line acts as the operator of the installation: system level, audited as user "cli".
OPERATOR = Principal("cli", Organisation("national"), frozenset({role_data.SYSTEM_ADMIN}))


class UserService(AuditReading):
    """User administration over one app database's :class:`AuditTrail` (and, from
    :class:`AuditReading`, reading the trail within the administrator's reach)."""

    def __init__(self, trail: AuditTrail, passwords: Passwords | None = None, clock: Clock = utc_now) -> None:
        self.trail = trail
        self.database = trail.database
        self.passwords = passwords or Passwords()
        self.clock = clock

    # --- principals ----------------------------------------------------------------------------
    def principal_for(self, user_id: int, *, second_factor: bool = True) -> Principal:
        """The user as a principal with its **valid** roles now (none if inactive or unknown: default deny).

        Without ``second_factor`` the roles that need TOTP are left out (a sign-in that stopped
        after the password)."""
        user = store.get_user(self.database, user_id)
        if user is None:
            raise NotFoundError("no such user")
        roles = role_data.valid_roles(
            store.grants_of(self.database, [user_id])[user_id], self.clock(), active=user.active
        )
        if not second_factor:
            roles = frozenset(r for r in roles if not role_data.totp_required([r]))
        return Principal(user.username, Organisation.parse(user.organisation), roles, user.id)

    # --- reading -------------------------------------------------------------------------------
    @audits_refusals("access.denied", "list the users (organisation {organisation})")
    def users(self, actor: Principal, organisation: str | None = None) -> list[UserInfo]:
        """The users the actor manages: its own organisation (a local administrator), or any (system)."""
        require(actor, "manage_users")
        if organisation is not None:
            reach(actor, "manage_users", organisation_key(organisation))
        elif not reaches_all(actor, "manage_users"):
            organisation = str(actor.organisation)
        return self._infos(store.list_users(self.database, organisation))

    @audits_refusals("access.denied", "read user #{user_id}")
    def user(self, actor: Principal, user_id: int) -> UserInfo:
        require(actor, "manage_users")
        row = store.get_user(self.database, user_id)
        if row is None or not may_reach(actor, "manage_users", row.organisation):
            raise not_found(actor, "manage_users", "no such user")
        return self._infos([row])[0]

    @audits_refusals("access.denied", "read user {username}")
    def user_by_name(self, actor: Principal, username: str) -> UserInfo:
        require(actor, "manage_users")
        row = store.find_user(self.database, username)
        if row is None or not may_reach(actor, "manage_users", row.organisation):
            # the same answer whether or not it exists elsewhere
            raise not_found(actor, "manage_users", f"no user {username!r}")
        return self._infos([row])[0]

    def me(self, principal: Principal) -> UserInfo:
        """The caller's own account (any signed-in user)."""
        if principal.user_id is None:
            raise NotFoundError("this principal is not a stored user")
        row = store.get_user(self.database, principal.user_id)
        if row is None:
            raise NotFoundError("no such user")
        return self._infos([row])[0]

    def managed_organisation(self, actor: Principal) -> str | None:
        """The organisation whose users ``actor`` manages (None: every one); ForbiddenError without
        ``manage_users``."""
        require(actor, "manage_users")
        return None if reaches_all(actor, "manage_users") else str(actor.organisation)

    @audits_refusals("access.denied", "read the recertification list")
    def recertification(self, actor: Principal, within_days: int = 30) -> list[GrantInfo]:
        """Valid grants that expire within ``within_days`` days, soonest first: the list to renew or let lapse."""
        require(actor, "manage_users")
        if not 0 < within_days <= 3660:
            raise InvalidInputError([FieldProblem("days", "must be between 1 and 3660", "user_days")])
        now = self.clock()
        organisation = None if reaches_all(actor, "manage_users") else str(actor.organisation)
        rows = store.expiring_grants(self.database, now, now + timedelta(days=within_days), organisation)
        return [self._grant_info(g, u, now) for g, u in rows]

    # --- changing ------------------------------------------------------------------------------
    @audits_refusals("user.create", "create user {username} (organisation {organisation})")
    def create_user(
        self,
        actor: Principal,
        username: str,
        *,
        organisation: str | None = None,
        display_name: str = "",
        password: str | None = None,
    ) -> UserInfo:
        """A new, active user without grants. Every problem of the input is reported at once."""
        require(actor, "manage_users")
        target = organisation_key(organisation) if organisation is not None else str(actor.organisation)
        reach(actor, "manage_users", target)
        problems = username_field_problems(username)
        if password is not None:
            problems += password_field_problems(password, username)
        problems += display_name_problems(display_name)
        if problems:
            raise InvalidInputError(problems)
        if not store.organisation_exists(self.database, target):
            raise not_found(actor, "manage_users", "no such organisation")
        hashed = self.passwords.hash(password) if password is not None else None
        now = self.clock()
        try:
            row = store.insert_user(
                self.database,
                username=username,
                display_name=display_name.strip(),
                organisation=target,
                password_hash=hashed,
                at=now,
                event=lambda u: admin_event(
                    actor, "user.create", now, f"user {u.username} (#{u.id}) created in {u.organisation}", u.id
                ),
            )
        except LookupError:
            raise not_found(actor, "manage_users", "no such organisation") from None
        return self._infos([row])[0]

    @audits_refusals("grant.add", "grant {role} to user #{user_id}")
    def grant(self, actor: Principal, user_id: int, role: str, expires: date | datetime | None = None) -> GrantInfo:
        """Grant ``role`` until ``expires`` (a date: to the end of that day, UTC); default 12 months, at most 24."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        if role not in role_data.role_names():
            raise InvalidInputError(
                [FieldProblem("role", f"must be one of {', '.join(role_data.role_names())}", "user_role_unknown")]
            )
        if not target.active:
            raise ConflictError("the user is deactivated")
        if actor.user_id is not None and actor.user_id == target.id:
            raise ForbiddenError("nobody grants themselves a role", "grant_self")
        same = target.organisation == str(actor.organisation)
        if not role_data.may_grant(actor.roles, role, same_organisation=same):
            raise ForbiddenError(f"your roles do not let you grant {role}", "grant_role")
        now = self.clock()
        expires_at = grant_expiry(now, expires)
        row = store.insert_grant(
            self.database,
            user_id=target.id,
            role=role,
            granted_by=actor.user,
            granted_at=now,
            expires_at=expires_at,
            event=lambda g: admin_event(
                actor,
                "grant.add",
                now,
                f"role {g.role} granted to {target.username} (#{target.id}, {target.organisation}) "
                f"until {g.expires_at.date().isoformat()}, grant #{g.id}",
                g.id,
            ),
        )
        return self._grant_info(row, target, now)

    @audits_refusals("grant.revoke", "revoke grant #{grant_id}")
    def revoke(self, actor: Principal, grant_id: int) -> GrantInfo:
        """Revoke one grant (at once). Revoking a revoked grant changes nothing and writes no record."""
        require(actor, "manage_users")
        grant = store.get_grant(self.database, grant_id)
        target = store.get_user(self.database, grant.user_id) if grant else None
        if grant is None or target is None or not may_reach(actor, "manage_users", target.organisation):
            raise not_found(actor, "manage_users", "no such grant")
        self._check_revocable(actor, target, grant.role)
        now = self.clock()
        done = self._revoke(actor, target, [grant], now)
        return done[0] if done else self._grant_info(grant, target, now)

    @audits_refusals("grant.revoke", "revoke {role} of user #{user_id}")
    def revoke_role(self, actor: Principal, user_id: int, role: str) -> list[GrantInfo]:
        """Revoke every unrevoked grant of ``role`` the user has (the CLI's ``users revoke``)."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        self._check_revocable(actor, target, role)
        grants = [g for g in store.grants_of(self.database, [target.id])[target.id] if g.role == role]
        return self._revoke(actor, target, [g for g in grants if g.revoked_at is None], self.clock())

    @audits_refusals("user.deactivate", "deactivate user #{user_id}")
    def deactivate(self, actor: Principal, user_id: int) -> UserInfo:
        """The user can no longer sign in, and its tokens stop working, at once. Grants stay, for the
        record (:meth:`reactivate` revokes those still running, so none comes back with the user)."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        if actor.user_id is not None and actor.user_id == target.id:
            raise ForbiddenError("you cannot deactivate yourself", "deactivate_self")
        if role_data.SYSTEM_ADMIN in self._valid_roles(target) and not reaches_all(actor, "manage_users"):
            raise ForbiddenError(
                "only a system administrator deactivates a system administrator", "deactivate_system_admin"
            )
        if not target.active:
            return self._infos([target])[0]
        now = self.clock()
        row = store.set_active(
            self.database,
            target.id,
            False,
            at=now,
            event=lambda u: admin_event(
                actor, "user.deactivate", now, f"user {u.username} (#{u.id}, {u.organisation}) deactivated", u.id
            ),
        )
        revoke_sessions_of(self.database, target.id, now)  # signed-in pages stop at once, like tokens
        return self._infos([row])[0]

    @audits_refusals("user.reactivate", "reactivate user #{user_id}")
    def reactivate(self, actor: Principal, user_id: int) -> UserInfo:
        """A deactivated user may sign in again, but with **no valid grant** until an administrator grants again.

        Deactivation leaves the grants stored and only stops them from counting; reactivation does
        not bring them back silently. The grants still running (neither expired nor revoked) are
        revoked, by the actor, in the same transaction as the reactivation and its
        ``user.reactivate`` record (which names them); expired and revoked grants stay so. Until a
        new grant the user has no rights: the web sign-in refuses it (no access) and its API tokens
        carry no permission. Reactivating an active user changes nothing and writes no record. The
        reach is deactivation's: nobody reactivates themselves, and only a system administrator
        reactivates a system administrator (one whose grants would count if it were active)."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        if actor.user_id is not None and actor.user_id == target.id:
            raise ForbiddenError("you cannot reactivate yourself", "reactivate_self")
        if role_data.SYSTEM_ADMIN in self._roles_if_active(target) and not reaches_all(actor, "manage_users"):
            raise ForbiddenError(
                "only a system administrator reactivates a system administrator", "reactivate_system_admin"
            )
        if target.active:
            return self._infos([target])[0]
        now = self.clock()

        def event(done: store.Reactivation) -> AuditEvent | None:
            if not done.changed:  # reactivated meanwhile by someone else: nothing to record
                return None
            user = done.user
            revoked = ", ".join(f"#{g.id} {g.role}" for g in done.revoked)
            return admin_event(
                actor,
                "user.reactivate",
                now,
                f"user {user.username} (#{user.id}, {user.organisation}) reactivated; "
                + (f"grant(s) {revoked} revoked, " if revoked else "")
                + "no valid grant until a new one",
                user.id,
                *(g.id for g in done.revoked),
            )

        done = store.reactivate_user(self.database, target.id, at=now, by=actor.user, event=event)
        return self._infos([done.user])[0]

    @audits_refusals("user.rename", "rename user #{user_id}")
    def rename(self, actor: Principal, user_id: int, display_name: str) -> UserInfo:
        """Correct a user's display name (the rules of :meth:`create_user`: at most
        ``MAX_DISPLAY_NAME`` characters, no NUL, no CPR-shaped number; surrounding spaces are
        dropped). The same name again changes nothing and writes no record. The ``user.rename``
        record names the user, not the old or the new name."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        problems = display_name_problems(display_name)
        if problems:
            raise InvalidInputError(problems)
        name = display_name.strip()
        if name == target.display_name:
            return self._infos([target])[0]
        now = self.clock()
        row = store.set_display_name(
            self.database,
            target.id,
            name,
            at=now,
            event=lambda u: admin_event(
                actor, "user.rename", now, f"display name of {u.username} (#{u.id}, {u.organisation}) changed", u.id
            ),
        )
        return self._infos([row])[0]

    @audits_refusals("user.password", "set the password of user #{user_id}")
    def set_password(self, actor: Principal, user_id: int, password: str) -> UserInfo:
        """Set a user's password (an administrator's reset, or the operator's). Policy as at creation.

        Failed attempts and a lockout are cleared, and the user's web sessions end. Nobody sets their
        own password here (a session alone must not replace it: the account page asks for the
        current one), and only a system administrator sets a system administrator's."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        if actor.user_id is not None and actor.user_id == target.id:
            raise ForbiddenError(
                "you cannot set your own password here: change it on your account page", "password_self"
            )
        if role_data.SYSTEM_ADMIN in self._valid_roles(target) and not reaches_all(actor, "manage_users"):
            raise ForbiddenError(
                "only a system administrator sets the password of a system administrator", "password_system_admin"
            )
        problems = password_field_problems(password, target.username)
        if problems:
            raise InvalidInputError(problems)
        now = self.clock()
        row = creds.set_password_hash(
            self.database,
            target.id,
            self.passwords.hash(password),
            at=now,
            event=lambda u: admin_event(actor, "user.password", now, f"password of {u.username} (#{u.id}) set", u.id),
        )
        return self._infos([row])[0]

    @audits_refusals("user.totp_reset", "reset the TOTP of user #{user_id}")
    def reset_totp(self, actor: Principal, user_id: int) -> UserInfo:
        """Forget a user's authenticator (a lost phone): it enrols a new one at its next sign-in.

        Its unused recovery codes stop working and its web sessions end, in the same transaction as
        the reset and its record. Its API tokens stay: they never passed a second factor anyway.
        Nobody resets their own (a session alone must not be enough to replace the second factor),
        and only a system administrator resets a system administrator's."""
        require(actor, "manage_users")
        target = self._target(actor, user_id)
        if actor.user_id is not None and actor.user_id == target.id:
            raise ForbiddenError("you cannot reset your own TOTP: ask another administrator", "totp_self")
        if role_data.SYSTEM_ADMIN in self._valid_roles(target) and not reaches_all(actor, "manage_users"):
            raise ForbiddenError(
                "only a system administrator resets the TOTP of a system administrator", "totp_system_admin"
            )
        now = self.clock()
        done = creds.reset_totp(
            self.database,
            target.id,
            at=now,
            event=lambda r: admin_event(
                actor,
                "user.totp_reset",
                now,
                f"TOTP of {r.user.username} (#{r.user.id}, {r.user.organisation}) reset; "
                f"{r.recovery_codes} recovery code(s) invalidated, {r.sessions} session(s) ended",
                r.user.id,
            ),
        )
        return self._infos([done.user])[0]

    # --- helpers -------------------------------------------------------------------------------
    def _check_revocable(self, actor: Principal, target: UserRow, role: str) -> None:
        same = target.organisation == str(actor.organisation)
        if not role_data.may_grant(actor.roles, role, same_organisation=same):
            raise ForbiddenError(f"your roles do not let you revoke {role}", "revoke_role")

    def _revoke(self, actor: Principal, target: UserRow, grants: list[GrantRow], now: datetime) -> list[GrantInfo]:
        if not grants:
            return []
        rows = store.revoke_grants(
            self.database,
            [g.id for g in grants],
            at=now,
            by=actor.user,
            event=lambda done: (
                admin_event(
                    actor,
                    "grant.revoke",
                    now,
                    f"grant(s) {', '.join(f'#{g.id} {g.role}' for g in done)} of {target.username} "
                    f"(#{target.id}, {target.organisation}) revoked",
                    *(g.id for g in done),
                )
                if done
                else None
            ),
        )
        return [self._grant_info(g, target, now) for g in rows]

    def _target(self, actor: Principal, user_id: int) -> UserRow:
        row = store.get_user(self.database, user_id)
        if row is None or not may_reach(actor, "manage_users", row.organisation):
            raise not_found(actor, "manage_users", "no such user")
        return row

    def _valid_roles(self, user: UserRow) -> frozenset[str]:
        grants = store.grants_of(self.database, [user.id])[user.id]
        return role_data.valid_roles(grants, self.clock(), active=user.active)

    def _roles_if_active(self, user: UserRow) -> frozenset[str]:
        """The roles the user's grants would give now if it were active (a deactivated user's rank)."""
        grants = store.grants_of(self.database, [user.id])[user.id]
        return role_data.valid_roles(grants, self.clock(), active=True)

    def _infos(self, rows: Iterable[UserRow]) -> list[UserInfo]:
        rows = list(rows)
        grants = store.grants_of(self.database, [r.id for r in rows])
        now = self.clock()
        out = []
        for r in rows:
            mine = grants[r.id]
            out.append(
                UserInfo(
                    id=r.id,
                    username=r.username,
                    display_name=r.display_name,
                    organisation=r.organisation,
                    active=r.active,
                    totp_enrolled=r.totp_enrolled,
                    locked_until=r.locked_until if r.locked_until and r.locked_until > now else None,
                    created_at=r.created_at,
                    roles=role_data.valid_roles(mine, now, active=r.active),
                    grants=tuple(self._grant_info(g, r, now) for g in mine),
                )
            )
        return out

    @staticmethod
    def _grant_info(grant: GrantRow, user: UserRow, now: datetime) -> GrantInfo:
        return GrantInfo(
            id=grant.id,
            user_id=user.id,
            username=user.username,
            organisation=user.organisation,
            role=grant.role,
            granted_by=grant.granted_by,
            granted_at=grant.granted_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            revoked_by=grant.revoked_by,
            valid=user.active and role_data.is_valid(grant, now),
        )
