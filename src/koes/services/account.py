"""A signed-in user's own account: changing its password.

The current password is checked the way a sign-in checks it: a wrong one counts towards the same
lockout as a wrong sign-in (5 in a row lock the account for 1 minute, then 2, 4 …, see
:func:`koes.privacy.credentials.lock_for`), and while the account is locked nothing is checked. So a
stolen session cannot be used to guess the password any faster than the sign-in page allows.

The new password follows the policy of every password (:func:`broken_password_rules`) and differs
from the current one. A change revokes every session of the user in the same transaction as the
new hash and its audit record (``password.change``); the page then gives the browser that made the
change a new session (rotation). A wrong current password is recorded too (``password.change``,
outcome ``denied``), never a password or any part of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from koes.appdb import credentials as creds
from koes.appdb import users as store
from koes.appdb.users import UserRow
from koes.privacy.audit import AuditEvent, request_hash
from koes.privacy.credentials import broken_password_rules, lock_for
from koes.services.audit import AuditTrail, safe_text
from koes.services.errors import NotFoundError
from koes.services.users import UserService

ACTION = "password.change"
OUTCOMES = ("changed", "wrong_password", "locked", "invalid", "no_password")
SAME = "same"  # a problem beside the policy's rules: the new password is the current one


@dataclass(frozen=True)
class PasswordChange:
    """What became of a change: ``outcome`` (one of :data:`OUTCOMES`), the rules the new password
    breaks (ids of :data:`koes.privacy.credentials.PASSWORD_RULES`, or :data:`SAME`), how long the
    account is locked (if it is) and how many sessions a change ended."""

    outcome: str
    problems: tuple[str, ...] = ()
    locked_until: datetime | None = None
    sessions_ended: int = 0


class AccountService:
    def __init__(self, trail: AuditTrail, users: UserService) -> None:
        self.trail = trail
        self.database = trail.database
        self.users = users  # its clock and password hasher, so that tests inject one of each

    def has_password(self, user_id: int) -> bool:
        """Whether the user signs in with a password here (a user without one has nothing to change)."""
        user = store.get_user(self.database, user_id)
        return user is not None and user.has_password

    def change_password(self, user_id: int, current: str, new: str) -> PasswordChange:
        now = self.users.clock()
        found = creds.credentials(self.database, user_id=user_id)
        if found is None or not found.user.active:
            raise NotFoundError("no such user")
        user = found.user
        if found.password_hash is None:
            return PasswordChange("no_password")
        if user.locked_until is not None and user.locked_until > now:
            self.trail.record(_event(user, now, f"account locked until {_when(user.locked_until)}", ok=False))
            return PasswordChange("locked", locked_until=user.locked_until)
        problems = tuple(broken_password_rules(new, user.username))
        if not self.users.passwords.verify(found.password_hash, current):
            return self._wrong(user, now, problems)
        if new == current:
            problems += (SAME,)
        if problems:
            return PasswordChange("invalid", problems)
        done = creds.replace_password(
            self.database,
            user.id,
            self.users.passwords.hash(new),
            at=now,
            event=lambda r: _event(r.user, now, f"password changed by the user; {r.sessions} session(s) ended"),
        )
        return PasswordChange("changed", sessions_ended=done.sessions)

    def _wrong(self, user: UserRow, now: datetime, problems: tuple[str, ...]) -> PasswordChange:
        def event(u: UserRow) -> AuditEvent:
            lock = f"; locked until {_when(u.locked_until)}" if u.locked_until and u.locked_until > now else ""
            summary = f"wrong current password; {u.failed_attempts} failure(s) in a row{lock}"
            return _event(u, now, summary, ok=False)

        after = creds.record_failure(self.database, user.id, at=now, lock_for=lock_for, event=event)
        locked = after.locked_until if after.locked_until and after.locked_until > now else None
        return PasswordChange("wrong_password", problems, locked)


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _event(user: UserRow, at: datetime, summary: str, *, ok: bool = True) -> AuditEvent:
    return AuditEvent(
        at=at,
        user=user.username,
        organisation=user.organisation,
        action=ACTION,
        summary=safe_text(summary),
        request_hash=request_hash(f"{ACTION}\n{user.username}\n{at.isoformat()}"),
        scope="",
        outcome="ok" if ok else "denied",
    )


__all__ = ["OUTCOMES", "SAME", "AccountService", "PasswordChange"]
