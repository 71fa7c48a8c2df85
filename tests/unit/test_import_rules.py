"""The layering of DESIGN.md §3, checked on the source: a forbidden import fails the suite."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "koes"

# (importing package, forbidden import prefixes, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("koes.domain", ("koes.",), "domain is pure and imports nothing of ours"),
    (
        "koes.query",
        ("koes.engines", "koes.storage", "koes.web"),
        "query never knows engines or storage",
    ),
    ("koes.engines", ("koes.semantic",), "engines never see the semantic model"),
    ("koes.privacy.suppression", ("koes.",), "suppression is pure"),
    ("koes.web", ("koes.engines", "koes.storage", "koes.appdb"), "web goes through services"),
    ("koes.cli", ("koes.engines", "koes.storage", "koes.appdb"), "cli goes through services"),
    (
        "koes.cohorts",
        (
            "koes.engines",
            "koes.storage",
            "koes.etl",
            "koes.query",
            "koes.semantic",
            "koes.appdb",
            "koes.services",
            "koes.web",
            "koes.cli",
        ),
        "cohorts reads uploads and links through an engine it is handed; it opens nothing itself",
    ),
    *(
        (package, ("koes.cohorts",), "cohorts sits above the warehouse layers: they never know it")
        for package in ("koes.engines", "koes.storage", "koes.etl", "koes.query", "koes.semantic", "koes.privacy")
    ),
    (
        "koes.privacy.audit",
        ("koes.appdb", "koes.services", "koes.storage", "koes.engines", "koes.web", "koes.cli"),
        "the audit chain rules are pure",
    ),
)
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
            elif node.module:
                yield node.module


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _within_any(module: str, packages: tuple[str, ...]) -> bool:
    return any(_within(module, p) for p in packages)


def _violations(src: Path = SRC) -> list[str]:
    found = []
    for module, path in _modules(src):
        for imported in _imports(path, module):
            for package, forbidden, why in RULES:
                own = imported.startswith(package)
                if _within(module, package) and imported.startswith(forbidden) and not own:
                    found.append(f"{module} imports {imported}: {why}")
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
    assert "koes.domain.bad imports koes.refdata: domain is pure and imports nothing of ours" in found
    assert "koes.domain.bad imports duckdb: only storage, engines and etl may" in found
    assert "koes.domain.bad imports sqlalchemy: only appdb may" in found


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
        "koes.engines.duckdb imports koes.cohorts.rows: cohorts sits above the warehouse layers: they never know it",
    ]
