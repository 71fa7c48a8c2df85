"""The API's description is built from the rules it describes, so the two cannot drift apart."""

from __future__ import annotations

import re
from typing import Any

from koes.privacy import roles as role_data
from koes.services.user_rules import MAX_DISPLAY_NAME
from koes.web.api.administration import GRANT_BODY, NEW_USER_BODY, RENAME_BODY


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = body["requestBody"]["content"]["application/json"]["schema"]
    return schema


def test_the_grant_body_offers_exactly_the_roles_of_the_role_data() -> None:
    offered = _schema(GRANT_BODY)["properties"]["role"]["enum"]
    assert offered == list(role_data.role_names())
    assert {"aggregeret", "individ", "lokal_admin", "system_admin"} <= set(offered)


def test_a_display_name_is_documented_with_the_length_the_service_enforces() -> None:
    field = _schema(RENAME_BODY)["properties"]["display_name"]
    assert field["maxLength"] == MAX_DISPLAY_NAME
    assert str(MAX_DISPLAY_NAME) in field["description"]


def test_the_username_pattern_accepts_and_refuses_what_the_service_does() -> None:
    pattern = re.compile(_schema(NEW_USER_BODY)["properties"]["username"]["pattern"])
    assert pattern.search("anna.hansen@kbh")
    for refused in ("A", "a", "Anna", "-anna", "a" * 65, "anna hansen"):
        assert not pattern.search(refused), refused
