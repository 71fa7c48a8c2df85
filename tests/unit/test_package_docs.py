"""Every package says what it holds, and every layer also says what it may import (decision record 0008).

A reader opening a package meets its docstring first: the room's purpose, and for a top-level package
(a layer of ``tests/unit/test_import_rules.py``) the imports it may make. The test fails for a
package without a docstring and for a top-level package whose docstring says nothing of its imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "koes"


def docstring_problems(src: Path) -> list[str]:
    """Each package without a docstring; each top-level package whose docstring names no imports."""
    problems = []
    for init in sorted(src.rglob("__init__.py")):
        package = init.parent.relative_to(src.parent).as_posix().replace("/", ".")
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if not doc.strip():
            problems.append(f"{package}: no docstring; say what the package holds")
        elif init.parent.parent == src and "import" not in doc:
            problems.append(f"{package}: the docstring does not say what the layer may import")
    return problems


def test_every_package_says_what_it_holds_and_may_import() -> None:
    assert docstring_problems(SRC) == []


def test_a_silent_package_and_a_layer_without_its_imports_are_named(tmp_path: Path) -> None:
    root = tmp_path / "koes"
    for folder, text in (
        (root, '"""The root."""\n'),
        (root / "quiet", "X = 1\n"),
        (root / "vague", '"""Holds things."""\n'),
        (root / "vague" / "inner", '"""Holds smaller things."""\n'),
        (root / "clear", '"""Holds things; it may import only the foundations."""\n'),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(text, encoding="utf-8")
    assert docstring_problems(root) == [
        "koes.quiet: no docstring; say what the package holds",
        "koes.vague: the docstring does not say what the layer may import",
    ]
