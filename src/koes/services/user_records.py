"""What user administration answers with: a user and its grants as records, and its audit events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.services.audit import safe_text


@dataclass(frozen=True)
class GrantInfo:
    id: int
    user_id: int
    username: str
    organisation: str
    role: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    valid: bool  # counts now

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "username": self.username,
            "organisation": self.organisation,
            "role": self.role,
            "granted_by": self.granted_by,
            "granted_at": self.granted_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "valid": self.valid,
        }


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    organisation: str
    active: bool
    totp_enrolled: bool
    locked_until: datetime | None
    created_at: datetime
    roles: frozenset[str]  # from valid grants only
    grants: tuple[GrantInfo, ...]  # every grant, for the record

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "organisation": self.organisation,
            "active": self.active,
            "totp_enrolled": self.totp_enrolled,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "created_at": self.created_at.isoformat(),
            "roles": sorted(self.roles),
            "grants": [g.to_json() for g in self.grants],
        }


def admin_event(actor: Principal, action: str, at: datetime, summary: str, *ids: int) -> AuditEvent:
    """An administration record: who did it (the actor), what (a readable line), and a hash of the change."""
    change = json.dumps({"action": action, "ids": list(ids), "summary": summary}, sort_keys=True, ensure_ascii=False)
    return AuditEvent(
        at=at,
        user=actor.user,
        organisation=str(actor.organisation),
        action=action,
        summary=safe_text(summary),
        request_hash=request_hash(change),
        scope="",
    )
