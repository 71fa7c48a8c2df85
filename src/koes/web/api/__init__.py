"""Versioned JSON APIs, published with their OpenAPI description.

Each module under ``api/`` holds one group of endpoints: a ``router`` and the access rule of each of
its endpoints (``PERMISSIONS``). :func:`endpoint_permissions` is the one table the gate and the
authorisation-matrix test read; :func:`routers` is what the app includes.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from fastapi import APIRouter

from koes.privacy.roles import Access
from koes.web.auth import EndpointTable

API_MODULES = (
    "v1",
    "accounts",
    "administration",
    "docs",
    "analyses",
    "reports",
    "cohorts",
    "cohort_analysis",
    "ops",
    "jobs",
)  # more groups are added here, each a module with `router` and `PERMISSIONS`


def _modules() -> list[ModuleType]:
    return [import_module(f"koes.web.api.{name}") for name in API_MODULES]


def endpoint_permissions() -> EndpointTable:
    """Every API endpoint and what it needs (roles.yaml permissions), over all groups."""
    table: dict[tuple[str, str], Access] = {}
    for module in _modules():
        part: EndpointTable = module.PERMISSIONS
        clash = set(table) & set(part)
        if clash:
            raise RuntimeError(f"endpoints ruled twice: {sorted(clash)}")
        table.update(part)
    return table


def routers() -> list[APIRouter]:
    return [module.router for module in _modules()]
