"""Entry point of the ``koes`` command. Settings are built here, once, and passed down.

Each module of :data:`CLI_MODULES` holds one group of commands, registered on the root app of
:mod:`koes.cli.common` when it is imported; the order here is the order of ``koes --help``.
"""

from __future__ import annotations

from importlib import import_module

from koes.cli.common import app
from koes.cli.operations import register as register_operations

__all__ = ["CLI_MODULES", "app", "main"]

CLI_MODULES = ("warehouse", "analysis", "serve", "administration", "cohort")

for _name in CLI_MODULES:
    import_module(f"koes.cli.{_name}")
register_operations(app)  # koes backup, koes restore (koes.cli.operations)


def main() -> None:
    app()
