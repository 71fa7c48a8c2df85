"""Sign-in: password (argon2id) with lockout and backoff, then TOTP or a recovery code; TOTP enrolment.

The web sign-in pages call these in order and keep the state between steps in their session::

    attempt = signin.password(username, password)
    # attempt.outcome: ok | second_factor | enrol_totp | failed | locked
    if attempt.outcome == "second_factor":
        attempt = signin.second_factor(attempt.user_id, code)   # a TOTP code or a recovery code
    if attempt.outcome == "enrol_totp":                         # a role needs TOTP, none enrolled yet
        enrolment = signin.enrol_totp(attempt.user_id)          # secret, otpauth URI, QR code as SVG
        codes = signin.confirm_totp(attempt.user_id, code)      # → 10 recovery codes, shown once
    principal = signin.users.principal_for(attempt.user_id)     # only after outcome "ok"

Rules:

- a wrong password or second factor counts as a failure; after 5 in a row the account is locked
  for 1 minute, then 2, 4 … (at most an hour); while locked nothing is checked; a full sign-in
  resets the count (:func:`koes.privacy.credentials.lock_for`);
- an unknown user name costs one argon2 hash like a known one, and answers the same ``failed``;
- a TOTP code is accepted one step either side of now, and never twice (the last accepted step is
  stored and moved forward with one conditional UPDATE); recovery codes are single-use;
- every full sign-in writes ``signin.ok``, every failure ``signin.failed`` (with the reason, never
  the password, the code or the name typed for an unknown user, which may be a mistyped password);
- a wrong code on the TOTP enrolment page counts like a wrong second factor (the password was right
  and a guessed code would finish the sign-in); while locked, no code is checked there either;
- single sign-on (:meth:`SignInService.single_sign_on`, after :mod:`koes.services.oidc` checked the
  broker's ID token) never creates users or grants: the broker's user name must be an active local
  user of the organisation the broker names, with a valid grant, and roles that need TOTP need the
  broker's multi-factor sign-in. It neither counts toward nor resets the password lockout
  (docs/decisions/0003-oidc-sso.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from koes.appdb import credentials as creds
from koes.appdb import users as store
from koes.appdb.credentials import Credentials
from koes.appdb.users import UserRow
from koes.privacy import roles as role_data
from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.privacy.credentials import (
    RECOVERY_CODES,
    Passwords,
    SecretBox,
    lock_for,
    new_recovery_codes,
    new_totp_secret,
    qr_svg,
    recovery_hash,
    totp_step,
    totp_uri,
    username_problems,
)
from koes.privacy.pseudonymisation import KeyFileError, load_or_create_key
from koes.query.request import FieldProblem
from koes.services.audit import AuditTrail, safe_text
from koes.services.errors import Clock, ConflictError, InvalidInputError, NotFoundError, utc_now
from koes.services.users import UserService
from koes.settings import Settings

UNKNOWN_USER = "(unknown)"
SYSTEM_ORGANISATION = "national"
OUTCOMES = ("ok", "second_factor", "enrol_totp", "failed", "locked")
# Single sign-on: signed in, or refused because the user is unknown (or inactive) here, belongs to
# another organisation than the broker says, has no valid grant, or needs MFA the broker did not do.
SSO_OUTCOMES = ("ok", "unknown", "organisation", "no_grant", "needs_mfa")


def load_secret_key(settings: Settings) -> bytes:
    """The deployment's secret key (``KOES_SECRET_KEY_FILE``, default ``DATA_DIR/secrets/app.key``), made if missing."""
    return load_or_create_key(settings.secret_key, "secret key")


@dataclass(frozen=True)
class SignInAttempt:
    outcome: str  # one of OUTCOMES
    user_id: int | None = None  # set unless the user is unknown
    locked_until: datetime | None = None


class AccountLockedError(Exception):
    """Too many wrong codes: the account is locked until ``until`` (the sign-in starts over)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"the account is locked until {_when(until)}")
        self.until = until


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str  # base32, for typing into an app by hand; shown once
    uri: str  # otpauth://totp/…
    qr_svg: str  # the URI as an inline SVG QR code

    def __repr__(self) -> str:
        return "TotpEnrolment(…)"


class SignInService:
    def __init__(
        self,
        trail: AuditTrail,
        secret_key: bytes,
        users: UserService | None = None,
        passwords: Passwords | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.trail = trail
        self.database = trail.database
        self.users = users or UserService(trail, passwords, clock or utc_now)
        self.passwords = passwords or self.users.passwords
        self.clock = clock or self.users.clock
        self._box = SecretBox(secret_key)

    # --- the password step ---------------------------------------------------------------------
    def password(self, username: str, password: str) -> SignInAttempt:
        now = self.clock()
        found = creds.credentials(self.database, username=username) if not username_problems(username) else None
        if found is None:
            self.passwords.verify(None, password)  # the same cost as a known user: no user-name oracle
            self.trail.record(_signin_event(None, now, "signin.failed", "sign-in with an unknown user name"))
            return SignInAttempt("failed")
        user = found.user
        if user.locked_until is not None and user.locked_until > now:
            self.trail.record(
                _signin_event(user, now, "signin.failed", f"account locked until {_when(user.locked_until)}")
            )
            return SignInAttempt("locked", user.id, user.locked_until)
        if not user.active:
            self.passwords.verify(None, password)
            self.trail.record(_signin_event(user, now, "signin.failed", "account deactivated"))
            return SignInAttempt("failed", user.id)
        if not self.passwords.verify(found.password_hash, password):
            return self._failure(user, now, "wrong password")
        if found.totp_confirmed:
            return SignInAttempt("second_factor", user.id)  # the failure count is reset only by a full sign-in
        roles = self.users.principal_for(user.id).roles
        if role_data.totp_required(roles):
            return SignInAttempt("enrol_totp", user.id)
        rehash = self.passwords.hash(password) if self._outdated(found) else None
        creds.record_success(
            self.database,
            user.id,
            at=now,
            new_password_hash=rehash,
            event=lambda u: _signin_event(u, now, "signin.ok", "signed in with a password"),
        )
        return SignInAttempt("ok", user.id)

    # --- the second factor ---------------------------------------------------------------------
    def second_factor(self, user_id: int, code: str) -> SignInAttempt:
        """Check a TOTP code (6 digits) or a recovery code, after a correct password."""
        now = self.clock()
        found = self._credentials(user_id)
        user = found.user
        if user.locked_until is not None and user.locked_until > now:
            self.trail.record(
                _signin_event(user, now, "signin.failed", f"account locked until {_when(user.locked_until)}")
            )
            return SignInAttempt("locked", user.id, user.locked_until)
        if not user.active:
            self.trail.record(_signin_event(user, now, "signin.failed", "account deactivated"))
            return SignInAttempt("failed", user.id)
        compact = code.strip().replace(" ", "")
        if compact.isdigit() and found.totp_confirmed and found.totp_secret:
            step = totp_step(self._open(found), compact, now)
            if step is not None:
                accepted = creds.accept_totp_step(
                    self.database,
                    user.id,
                    step,
                    at=now,
                    confirm=False,
                    event=lambda u: (
                        _signin_event(u, now, "signin.ok", "signed in with a password and TOTP") if u else None
                    ),
                )
                if accepted is not None:
                    return SignInAttempt("ok", user.id)
                return self._failure(user, now, "TOTP code already used")
            return self._failure(user, now, "wrong TOTP code")
        left = creds.unused_recovery_codes(self.database, user.id)
        used = creds.use_recovery_code(
            self.database,
            user.id,
            recovery_hash(code),
            at=now,
            event=lambda u: (
                _signin_event(u, now, "signin.ok", f"signed in with a password and a recovery code ({left - 1} left)")
                if u
                else None
            ),
        )
        if used is not None:
            return SignInAttempt("ok", user.id)
        return self._failure(user, now, "wrong second factor")

    def verify_totp(self, user_id: int, code: str) -> bool:
        """Accept a TOTP code for a signed-in user (a step-up check): within the window, never twice."""
        now = self.clock()
        found = self._credentials(user_id)
        if not (found.totp_confirmed and found.totp_secret and found.user.active):
            return False
        step = totp_step(self._open(found), code, now)
        if step is None:
            return False
        return (
            creds.accept_totp_step(self.database, user_id, step, at=now, confirm=False, event=lambda _u: None)
            is not None
        )

    # --- enrolment -----------------------------------------------------------------------------
    def enrol_totp(self, user_id: int) -> TotpEnrolment:
        """A new TOTP secret for a user without a confirmed one; it counts once confirmed with a code.

        A confirmed enrolment is never replaced here (that would let a password alone take over the
        second factor): an administrator resets it first (left for the web step)."""
        found = self._credentials(user_id)
        if found.totp_confirmed:
            raise ConflictError("TOTP is already set up for this user")
        now = self.clock()
        secret = new_totp_secret()
        user = found.user
        creds.set_totp_secret(
            self.database,
            user.id,
            self._box.seal(secret, _context(user.id)),
            at=now,
            event=lambda u: _signin_event(u, now, "totp.enrol", "TOTP enrolment started"),
        )
        uri = totp_uri(secret, user.username)
        return TotpEnrolment(secret, uri, qr_svg(uri))

    def confirm_totp(self, user_id: int, code: str) -> list[str]:
        """Confirm the enrolment with a code from the app; the new recovery codes (shown once).

        A wrong code counts toward the lockout like a wrong second factor (:class:`InvalidInputError`,
        or :class:`AccountLockedError` once it locks); while locked, no code is checked."""
        now = self.clock()
        found = self._credentials(user_id)
        if found.totp_secret is None or found.totp_confirmed:
            raise ConflictError("there is no TOTP enrolment to confirm")
        user = found.user
        if user.locked_until is not None and user.locked_until > now:
            self.trail.record(
                _signin_event(user, now, "signin.failed", f"account locked until {_when(user.locked_until)}")
            )
            raise AccountLockedError(user.locked_until)
        step = totp_step(self._open(found), code, now)
        confirmed = (
            creds.accept_totp_step(
                self.database,
                user_id,
                step,
                at=now,
                confirm=True,
                event=lambda u: _signin_event(u, now, "totp.confirm", "TOTP set up") if u else None,
            )
            if step is not None
            else None
        )
        if confirmed is None:
            failed = self._failure(user, now, "wrong TOTP enrolment code")
            if failed.locked_until is not None:
                raise AccountLockedError(failed.locked_until)
            raise InvalidInputError([FieldProblem("code", "not the current code of the authenticator app")])
        codes = self.new_recovery_codes(user_id)
        # Enrolment ends a sign-in (password, then the first code): record it as one, and reset failures.
        creds.record_success(
            self.database,
            user_id,
            at=now,
            new_password_hash=None,
            event=lambda u: _signin_event(u, now, "signin.ok", "signed in with a password and a new TOTP enrolment"),
        )
        return codes

    def new_recovery_codes(self, user_id: int) -> list[str]:
        """Ten new recovery codes (the old ones stop working); shown once, stored as hashes."""
        found = self._credentials(user_id)
        now = self.clock()
        codes = new_recovery_codes(RECOVERY_CODES)
        creds.replace_recovery_codes(
            self.database,
            found.user.id,
            [recovery_hash(c) for c in codes],
            at=now,
            event=lambda n: _signin_event(found.user, now, "recovery.create", f"{n} new recovery codes"),
        )
        return codes

    def recovery_codes_left(self, user_id: int) -> int:
        return creds.unused_recovery_codes(self.database, user_id)

    # --- single sign-on ------------------------------------------------------------------------
    def single_sign_on(self, username: str, organisation: str | None, mfa: bool) -> SignInAttempt:
        """Map an identity the broker vouched for (its ID token checked) to a local user: outcome
        ``ok`` or one of :data:`SSO_OUTCOMES`' refusals. Only local data grants rights."""
        now = self.clock()
        user = store.find_user(self.database, username) if not username_problems(username) else None
        if user is None or not user.active:
            why = "unknown" if user is None else "deactivated"
            summary = f"single sign-on as {username!r}: the user is {why} here"
            self.trail.record(_signin_event(user, now, "signin.failed", summary))
            return SignInAttempt("unknown", user.id if user else None)
        if organisation != user.organisation:
            claimed = repr(organisation) if organisation else "no organisation"
            summary = f"single sign-on: the broker names {claimed}, the user belongs to {user.organisation}"
            self.trail.record(_signin_event(user, now, "signin.failed", summary))
            return SignInAttempt("organisation", user.id)
        roles = self.users.principal_for(user.id).roles
        if not roles:
            self.trail.record(_signin_event(user, now, "signin.failed", "single sign-on: no valid grant"))
            return SignInAttempt("no_grant", user.id)
        if role_data.totp_required(roles) and not mfa:
            summary = "single sign-on without multi-factor authentication at the broker; the roles need it"
            self.trail.record(_signin_event(user, now, "signin.failed", summary))
            return SignInAttempt("needs_mfa", user.id)
        how = "with" if mfa else "without"
        summary = f"signed in with single sign-on (OpenID Connect, {how} multi-factor authentication at the broker)"
        # Not store.record_success: the password's failure count stays (a broker sign-in is no
        # proof against someone guessing the password meanwhile).
        self.trail.record(_signin_event(user, now, "signin.ok", summary))
        return SignInAttempt("ok", user.id)

    def single_sign_on_failed(self, reason: str) -> None:
        """Audit a single sign-on that failed before a user was known (state, broker, token)."""
        now = self.clock()
        self.trail.record(_signin_event(None, now, "signin.failed", f"single sign-on refused: {reason}"))

    # --- helpers -------------------------------------------------------------------------------
    def _failure(self, user: UserRow, now: datetime, why: str) -> SignInAttempt:
        def event(u: UserRow) -> AuditEvent:
            lock = f"; locked until {_when(u.locked_until)}" if u.locked_until and u.locked_until > now else ""
            return _signin_event(u, now, "signin.failed", f"{why}; {u.failed_attempts} failure(s) in a row{lock}")

        after = creds.record_failure(self.database, user.id, at=now, lock_for=lock_for, event=event)
        locked = after.locked_until if after.locked_until and after.locked_until > now else None
        return SignInAttempt("failed", user.id, locked)

    def _credentials(self, user_id: int) -> Credentials:
        found = creds.credentials(self.database, user_id=user_id)
        if found is None:
            raise NotFoundError("no such user")
        return found

    def _open(self, found: Credentials) -> str:
        assert found.totp_secret is not None
        return self._box.open(found.totp_secret, _context(found.user.id))

    def _outdated(self, found: Credentials) -> bool:
        return found.password_hash is not None and self.passwords.needs_rehash(found.password_hash)


def _context(user_id: int) -> str:
    return f"koes user {user_id} totp"


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "–"


def _signin_event(user: UserRow | None, at: datetime, action: str, summary: str) -> AuditEvent:
    who = user.username if user else UNKNOWN_USER
    organisation = user.organisation if user else SYSTEM_ORGANISATION
    return AuditEvent(
        at=at,
        user=who,
        organisation=organisation,
        action=action,
        summary=safe_text(summary),
        request_hash=request_hash(f"{action}\n{who}\n{at.isoformat()}"),
        scope="",
        outcome="ok" if action != "signin.failed" else "denied",
    )


def principal_after_sign_in(users: UserService, attempt: SignInAttempt) -> Principal:
    """The principal of a completed sign-in (outcome ``ok``); anything else is refused."""
    if attempt.outcome != "ok" or attempt.user_id is None:
        raise PermissionError("the sign-in is not complete")
    return users.principal_for(attempt.user_id)


__all__ = [
    "OUTCOMES",
    "SSO_OUTCOMES",
    "AccountLockedError",
    "KeyFileError",
    "SignInAttempt",
    "SignInService",
    "TotpEnrolment",
    "load_secret_key",
    "principal_after_sign_in",
]
