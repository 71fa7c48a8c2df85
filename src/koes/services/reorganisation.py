"""When regions change: the national authority creates the new region as an organisation and moves
the users of the regions it replaces (Region Hovedstaden and Region Sjælland → Region Østdanmark,
1 January 2027); a user of an organisation that has ceased is told so, not shown an empty page.

Which regions exist, when, and which region succeeds which come from the versioned geography
(``koes.domain.geography``), never from code. Every change is audited (``organisation.create``,
``user.move``); only an administrator who manages users everywhere may make them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from koes.appdb import reorganisation as store
from koes.appdb.seed import OrganisationRow, read_organisations
from koes.appdb.users import UserRow
from koes.domain.geography import Geography
from koes.privacy import roles as role_data
from koes.privacy.access import Organisation, Principal
from koes.privacy.audit import AuditEvent
from koes.services.audit import AuditTrail
from koes.services.ceased import CeasedOrganisation, ceased, successors
from koes.services.errors import Clock, ConflictError, ForbiddenError, NotFoundError, utc_now
from koes.services.user_records import admin_event


class ReorganisationService:
    def __init__(self, trail: AuditTrail, geography: Geography, clock: Clock = utc_now) -> None:
        self.trail = trail
        self.database = trail.database
        self.geography = geography
        self.clock = clock

    def create_region(self, actor: Principal, code: int) -> OrganisationRow:
        """The region declared in the geography as an organisation (Region Østdanmark, 1086)."""
        self._require(actor)
        try:
            region = self.geography.region(code)
        except KeyError:
            raise NotFoundError(f"region {code} is not declared in the reference data") from None
        row = OrganisationRow(f"region:{code}", "region", code, region.name_da, None)
        now = self.clock()
        note = " (provisional code)" if region.provisional_code else ""
        return store.insert_organisation(
            self.database,
            row,
            lambda r: admin_event(
                actor,
                "organisation.create",
                now,
                f"organisation {r.key} {r.name}{note} created, from {region.valid_from.isoformat()}",
            ),
        )

    def move_users(self, actor: Principal, source: str, target: str) -> list[str]:
        """Move every user of region ``source`` to ``target``, which must succeed it in the geography
        (so a slip of the keyboard cannot hand a region's users to another region). Grants go with
        each user; one ``user.move`` record per user. Returns the usernames moved."""
        self._require(actor)
        old, new = Organisation.parse(source), Organisation.parse(target)
        if old.kind != "region" or new.kind != "region" or old.code is None or new.code is None:
            raise ConflictError("users are moved from a region to the region that succeeds it")
        if new.code not in successors(self.geography, old.code):
            raise ConflictError(f"{target} does not succeed {source} in the reference data")
        known = {o.key for o in read_organisations(self.database)}
        if str(new) not in known:
            raise NotFoundError(f"{target} is not an organisation yet: create it first")
        moved = []
        for user_id in store.users_of(self.database, str(old)):
            user, _ = store.move_user(self.database, user_id, str(new), at=self.clock(), event=self._moved(actor))
            moved.append(user.username)
        return moved

    def _moved(self, actor: Principal) -> Callable[[tuple[UserRow, str]], AuditEvent]:
        now = self.clock()

        def event(done: tuple[UserRow, str]) -> AuditEvent:
            user, before = done
            summary = f"user {user.username} (#{user.id}) moved from {before} to {user.organisation}, grants kept"
            return admin_event(actor, "user.move", now, summary, user.id)

        return event

    def ceased(self, organisation: Organisation, today: date | None = None) -> CeasedOrganisation | None:
        return ceased(self.geography, organisation, today or self.clock().date())

    @staticmethod
    def _require(actor: Principal) -> None:
        if role_data.ORG_SCOPED["manage_users"][1] not in actor.permissions:
            raise ForbiddenError("only an administrator of every organisation changes the organisations")
