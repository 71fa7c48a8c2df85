from __future__ import annotations

from pathlib import Path

from koes.domain.codelists import CODE_LISTS
from koes.domain.register_docs import render_registers_markdown
from koes.domain.registers import REGISTERS

DOC = Path(__file__).resolve().parents[3] / "docs" / "reference" / "registers.md"


def test_committed_register_docs_match_the_declarations() -> None:
    """If this fails, run: .venv/bin/koes registers > docs/reference/registers.md"""
    assert DOC.read_text(encoding="utf-8") == render_registers_markdown(REGISTERS, CODE_LISTS)


def test_docs_name_every_column_and_code_list() -> None:
    text = render_registers_markdown(REGISTERS, CODE_LISTS)
    for register in REGISTERS:
        for column in register.columns:
            assert f"| `{column.name}` |" in text
    assert "| `ATA1` | Akut | Acute |" in text
    assert "CPR number: pseudonymised on load" in text
