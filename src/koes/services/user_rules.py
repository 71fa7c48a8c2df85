"""The rules of user administration that need no database: grant periods, names, passwords.

Every check returns all its problems at once, each a :class:`FieldProblem` with a code the web pages
translate (``problem.<code>``); :mod:`koes.services.users` applies them.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

from koes.domain.cpr import mask_cpr
from koes.privacy.credentials import PASSWORD_RULES, broken_password_rules, username_problems
from koes.query.request import FieldProblem
from koes.services.errors import InvalidInputError

DEFAULT_GRANT_MONTHS = 12
MAX_GRANT_MONTHS = 24
MAX_DISPLAY_NAME = 200


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months (the 31st becomes the month's last day where needed)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def grant_expiry(now: datetime, expires: date | datetime | None) -> datetime:
    """A grant's end: ``expires`` (a date: through that whole day, UTC); by default 12 months on, at most 24."""
    if expires is None:
        return add_months(now, DEFAULT_GRANT_MONTHS)
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise InvalidInputError([FieldProblem("expires", "must be timezone-aware", "user_expires_zone")])
        at = expires.astimezone(UTC)
    else:
        at = datetime.combine(expires + timedelta(days=1), time(), UTC)  # through the whole day
    problems = []
    if at <= now:
        problems.append(FieldProblem("expires", "must be in the future", "user_expires_past"))
    if at > add_months(now, MAX_GRANT_MONTHS) + timedelta(days=1):
        problems.append(
            FieldProblem(
                "expires",
                f"must be at most {MAX_GRANT_MONTHS} months from today",
                "user_expires_far",
                (("months", str(MAX_GRANT_MONTHS)),),
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return at


def username_field_problems(username: str) -> list[FieldProblem]:
    """The user name's problems, each with its code (``problem.<code>`` in the web messages)."""
    return [
        FieldProblem("username", m, "user_username_cpr" if "CPR" in m else "user_username")
        for m in username_problems(username)
    ]


def display_name_problems(display_name: str) -> list[FieldProblem]:
    """The display name's problems (a new user's or a new name), each with its code."""
    problems = []
    if len(display_name) > MAX_DISPLAY_NAME or "\x00" in display_name or not _is_text(display_name):
        problems.append(
            FieldProblem("display_name", f"at most {MAX_DISPLAY_NAME} characters of text", "user_display_name_long")
        )
    if mask_cpr(display_name) != display_name:
        problems.append(FieldProblem("display_name", "must not contain a CPR-shaped number", "user_display_name_cpr"))
    return problems


def _is_text(value: str) -> bool:
    """Storable text: no lone surrogate (JSON's ``"\\ud800"`` decodes to one, and no database takes it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def password_field_problems(password: str, username: str) -> list[FieldProblem]:
    """Every rule the password breaks, each with its code (``user_password_<rule>``)."""
    return [
        FieldProblem("password", PASSWORD_RULES[rule], f"user_password_{rule}")
        for rule in broken_password_rules(password, username)
    ]
