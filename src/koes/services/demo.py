"""Demo users for ``make demo``: known names and passwords, one API token each. Idempotent.

An ``aggregeret`` and an ``individ`` user in København (kommune:101) and in Aarhus (kommune:751),
a local administrator for København (who also holds ``aggregeret`` and ``individ``, so it can
grant them) and a system administrator. Running it again adds what is missing (users, grants that
are no longer valid) and replaces each user's demo token; it never changes anything else.

TOTP is left unenrolled: the web sign-in step (enrolment page with a QR code) asks ``individ`` and
administrator users to enrol at their first sign-in. The API works with the printed tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from koes.privacy.credentials import Passwords
from koes.services.audit import AuditTrail
from koes.services.errors import NotFoundError
from koes.services.tokens import TokenService
from koes.services.users import OPERATOR, UserService

DEMO_PASSWORD = "Demo-adgang-2025"  # known on purpose: synthetic data, a demo installation
DEMO_TOKEN_NAME = "demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    organisation: str
    display_name: str
    roles: tuple[str, ...]


DEMO_USERS = (
    DemoUser("kbh-analytiker", "kommune:101", "Analytiker, København", ("aggregeret",)),
    DemoUser("kbh-sagsbehandler", "kommune:101", "Sagsbehandler, København", ("individ",)),
    DemoUser("aarhus-analytiker", "kommune:751", "Analytiker, Aarhus", ("aggregeret",)),
    DemoUser("aarhus-sagsbehandler", "kommune:751", "Sagsbehandler, Aarhus", ("individ",)),
    DemoUser("kbh-admin", "kommune:101", "Lokal administrator, København", ("lokal_admin", "aggregeret", "individ")),
    DemoUser("systemadmin", "national", "Systemadministrator", ("system_admin",)),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    organisation: str
    roles: tuple[str, ...]
    password: str
    token: str
    created: bool  # False: the user existed already

    def __repr__(self) -> str:
        return f"DemoAccount({self.username!r}, {self.organisation!r}, {self.roles!r}, …)"


def ensure_demo_users(trail: AuditTrail, passwords: Passwords | None = None) -> list[DemoAccount]:
    users = UserService(trail, passwords)
    tokens = TokenService(trail, users)
    accounts = []
    for demo in DEMO_USERS:
        try:
            user = users.user_by_name(OPERATOR, demo.username)
            created = False
        except NotFoundError:
            user = users.create_user(
                OPERATOR,
                demo.username,
                organisation=demo.organisation,
                display_name=demo.display_name,
                password=DEMO_PASSWORD,
            )
            created = True
        for role in demo.roles:
            if role not in user.roles:
                users.grant(OPERATOR, user.id, role)
        for token in tokens.list(users.principal_for(user.id)):
            if token.name == DEMO_TOKEN_NAME and token.revoked_at is None:
                tokens.revoke_for(OPERATOR, token.id)
        secret = tokens.create_for(OPERATOR, user.id, DEMO_TOKEN_NAME).secret
        accounts.append(DemoAccount(demo.username, demo.organisation, demo.roles, DEMO_PASSWORD, secret, created))
    return accounts
