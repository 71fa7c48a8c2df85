"""The layering of DESIGN.md §3 and decision record 0008, checked on the source: a forbidden import fails the suite.

Two kinds of rule. :data:`LAYERS` is the order of the packages as a whole, from the bottom up: a
package imports only packages of the layers below its own, never a package above it and never a
sibling of its own layer, and every package must be placed in a layer. :data:`RULES` adds the bans
the order alone cannot say: a package that must not reach down into a particular lower layer (the
web and the CLI never open engines, storage or the app database) or a module that is purer than its
package (suppression, the audit chain).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "koes"
ROOT = "koes"  # the root package holds only __version__: every layer may import it

# The layers, from the bottom up: (the packages of the layer, why they sit there). A package may
# import only from layers below its own.
LAYERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("domain", "settings", "metrics"), "foundations: pure codes and rules, the settings, the metric names"),
    (("refdata",), "the shipped reference data, read with the domain's types"),
    (
        ("synthetic", "semantic", "storage", "engines"),
        "the generator, the catalog, releases on disk and the engines: none knows another",
    ),
    (("query",), "requests, plans, the scope rewrite and SQL, over the catalog"),
    (("privacy", "reports"), "disclosure control, access and the audit chain; the Standard reports as requests"),
    (("etl", "cohorts"), "the load and the uploads: both pseudonymise at the door (privacy)"),
    (("appdb",), "the app database: users, grants, cohorts kept, the audit trail"),
    (("services",), "the use cases: the one path plan, scope, execute, protect, audit"),
    (("web",), "the web app and the JSON API, thin over services"),
    (("cli", "settings_reference"), "the outer edge: `koes serve` starts the web app; the settings page generator"),
)

# (importing package, forbidden import prefixes, why): bans the layer order does not imply.
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "koes.query",
        ("koes.engines", "koes.storage"),
        "query never knows engines or storage",
    ),
    ("koes.privacy.suppression", ("koes.",), "suppression is pure"),
    ("koes.web", ("koes.engines", "koes.storage", "koes.appdb"), "web goes through services"),
    ("koes.cli", ("koes.engines", "koes.storage", "koes.appdb"), "cli goes through services"),
    (
        "koes.cohorts",
        (
            "koes.engines",
            "koes.storage",
            "koes.query",
            "koes.semantic",
        ),
        "cohorts reads uploads and links through an engine it is handed; it opens nothing itself",
    ),
    (
        "koes.privacy.audit",
        ("koes.storage", "koes.engines"),
        "the audit chain rules are pure",
    ),
)
# Facts so basic that every module may import them, pure ones included (one definition each).
UNIVERSAL = ("koes.domain.cells",)  # how a table cell is addressed: TOTAL and CellKey
DUCKDB_ALLOWED = ("koes.storage", "koes.engines", "koes.etl")
SQLALCHEMY_ALLOWED = ("koes.appdb",)  # the app database: sqlalchemy and alembic


def _modules(src: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                if node.module:
                    yield f"{base}.{node.module}"
                else:  # "from . import x" imports the submodules x
                    yield from (f"{base}.{alias.name}" for alias in node.names)
            elif node.module == ROOT:  # "from koes import settings" imports the package koes.settings
                yield from (f"{ROOT}.{alias.name}" for alias in node.names)
            elif node.module:
                yield node.module


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _within_any(module: str, packages: tuple[str, ...]) -> bool:
    return any(_within(module, p) for p in packages)


def _package(module: str) -> str:
    """The top package under koes ("koes.query.sql" -> "query"); "" for the root itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and not parts[1].startswith("__") else ""


def _layer(package: str) -> int | None:
    return next((i for i, (packages, _) in enumerate(LAYERS) if package in packages), None)


def _layer_violation(module: str, imported: str) -> str | None:
    """Why importing ``imported`` breaks the layer order, or None when it keeps it."""
    own, other = _package(module), _package(imported)
    if not other or other == own:
        return None
    mine, theirs = _layer(own), _layer(other)
    if mine is None or theirs is None:
        return None  # a package in no layer is reported once, by _unplaced
    if theirs == mine:
        return f"{module} imports {imported}: {own} and {other} share a layer, so neither knows the other"
    if theirs > mine:
        return f"{module} imports {imported}: {other} sits above {own} in the layer order"
    return None


def _rule_violations(module: str, imported: str) -> list[str]:
    return [
        f"{module} imports {imported}: {why}"
        for package, forbidden, why in RULES
        if _within(module, package)
        and imported.startswith(forbidden)
        and not imported.startswith(package)
        and not _within_any(imported, UNIVERSAL)
    ]


def _unplaced(src: Path) -> list[str]:
    packages = {_package(module) for module, _ in _modules(src)} - {""}
    return [f"koes.{p} is in no layer: place it in LAYERS" for p in sorted(packages) if _layer(p) is None]


def _violations(src: Path = SRC) -> list[str]:
    found = _unplaced(src)
    for module, path in _modules(src):
        for imported in _imports(path, module):
            if _within(imported, ROOT):  # one message per import: the specific rule, else the order
                specific = _rule_violations(module, imported)
                layered = _layer_violation(module, imported)
                found.extend(specific or ([layered] if layered else []))
            if imported.split(".")[0] == "duckdb" and not module.startswith(DUCKDB_ALLOWED):
                found.append(f"{module} imports duckdb: only storage, engines and etl may")
            top = imported.split(".")[0]
            if top in ("sqlalchemy", "alembic") and not _within_any(module, SQLALCHEMY_ALLOWED):
                found.append(f"{module} imports {top}: only appdb may")
    return found


def test_source_tree_keeps_the_layering() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("koes.domain.x", "from koes.refdata import load_refdata", "koes.refdata"),
        ("koes.domain.x", "from . import codelists", "koes.domain.codelists"),
        ("koes.domain.x", "from .codelists import KOEN", "koes.domain.codelists"),
        ("koes.domain", "from .codelists import KOEN", "koes.domain.codelists"),
    ],
)
def test_imports_are_resolved_like_python_does(tmp_path: Path, module: str, source: str, expected: str) -> None:
    path = tmp_path / ("__init__.py" if module == "koes.domain" else "x.py")
    path.write_text(source)
    assert list(_imports(path, module)) == [expected]


def test_a_forbidden_import_is_reported(tmp_path: Path) -> None:
    pkg = tmp_path / "koes" / "domain"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text("import duckdb\nfrom koes.refdata import load_refdata\nfrom sqlalchemy import text\n")
    found = _violations(tmp_path / "koes")
    assert "koes.domain.bad imports koes.refdata: refdata sits above domain in the layer order" in found
    assert "koes.domain.bad imports duckdb: only storage, engines and etl may" in found
    assert "koes.domain.bad imports sqlalchemy: only appdb may" in found


def test_a_pure_module_may_import_the_universal_facts_alone(tmp_path: Path) -> None:
    privacy = tmp_path / "koes" / "privacy"
    privacy.mkdir(parents=True)
    (privacy / "suppression.py").write_text("from koes.domain.cells import TOTAL\nfrom koes.domain.codes import x\n")
    assert _violations(tmp_path / "koes") == [
        "koes.privacy.suppression imports koes.domain.codes: suppression is pure",
    ]


def test_only_appdb_may_use_sqlalchemy_or_alembic(tmp_path: Path) -> None:
    services = tmp_path / "koes" / "services"
    appdb = tmp_path / "koes" / "appdb"
    cli = tmp_path / "koes" / "cli"
    for folder in (services, appdb, cli):
        folder.mkdir(parents=True)
    (services / "audit.py").write_text("from sqlalchemy.orm import Session\nfrom koes.appdb.audit import append\n")
    (appdb / "database.py").write_text("from alembic import command\nimport sqlalchemy\n")
    (cli / "main.py").write_text("from koes.appdb.database import AppDatabase\nfrom koes.services.appdb import x\n")
    assert sorted(_violations(tmp_path / "koes")) == [
        "koes.cli.main imports koes.appdb.database: cli goes through services",
        "koes.services.audit imports sqlalchemy: only appdb may",
    ]


def test_the_cohort_rules_are_enforced(tmp_path: Path) -> None:
    cohorts = tmp_path / "koes" / "cohorts"
    engines = tmp_path / "koes" / "engines"
    for folder in (cohorts, engines):
        folder.mkdir(parents=True)
    (cohorts / "linkage.py").write_text("from koes.engines.duckdb import DuckDBEngine\nimport duckdb\n")
    (cohorts / "rows.py").write_text("from koes.privacy.pseudonymisation import Pseudonymiser\nfrom . import report\n")
    (engines / "duckdb.py").write_text("from koes.cohorts.rows import Member\n")
    assert sorted(_violations(tmp_path / "koes")) == [
        "koes.cohorts.linkage imports duckdb: only storage, engines and etl may",
        "koes.cohorts.linkage imports koes.engines.duckdb: cohorts reads uploads and links through an engine it is "
        "handed; it opens nothing itself",
        "koes.engines.duckdb imports koes.cohorts.rows: cohorts sits above engines in the layer order",
    ]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = tmp_path / "koes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return tmp_path / "koes"


def test_a_layer_imports_only_layers_below_it(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": '__version__ = "0"\n',
            "semantic/catalog.py": "from koes.domain.codes import KOEN\nfrom koes.query.request import Request\n",
            "query/plan.py": "from koes import __version__\nfrom koes.semantic import catalog\n",
            "domain/codes.py": "from koes import settings\n",
            "settings.py": "",
        },
    )
    assert sorted(_violations(src)) == [
        "koes.domain.codes imports koes.settings: domain and settings share a layer, so neither knows the other",
        "koes.semantic.catalog imports koes.query.request: query sits above semantic in the layer order",
    ]


def test_siblings_of_one_layer_do_not_know_each_other(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"engines/duckdb.py": "from koes.semantic.model import Measure\n", "semantic/model.py": ""})
    assert _violations(src) == [
        "koes.engines.duckdb imports koes.semantic.model: engines and semantic share a layer, "
        "so neither knows the other"
    ]


def test_a_package_outside_the_layers_is_reported(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"gadgets/__init__.py": "", "web/app.py": "from koes.gadgets import thing\n"})
    assert _violations(src) == ["koes.gadgets is in no layer: place it in LAYERS"]


def test_every_package_of_the_source_tree_has_one_layer() -> None:
    placed = [package for packages, _ in LAYERS for package in packages]
    assert len(placed) == len(set(placed)), "a package is in two layers"
    assert _unplaced(SRC) == []
