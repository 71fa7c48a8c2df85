"""The register catalog is internally consistent: every name it uses resolves."""

from __future__ import annotations

import re

import pytest

from koes.domain.codelists import CODE_LISTS
from koes.domain.registers import REFDATA_CODE_LISTS, REGISTERS, Column, ColumnType, Register


def test_every_code_list_named_by_a_column_exists() -> None:
    for register in REGISTERS:
        for column in register.columns:
            if column.codes:
                assert column.codes in CODE_LISTS or column.codes in REFDATA_CODE_LISTS, (
                    register.name,
                    column.name,
                )


def test_references_point_at_existing_registers_and_columns() -> None:
    for register in REGISTERS:
        for ref in register.references:
            target = REGISTERS[ref.register]
            assert all(c in register.column_names for c in ref.columns)
            assert all(c in target.column_names for c in ref.ref_columns)
            assert target.key == ref.ref_columns, f"{register.name} must reference a key"


def test_every_column_is_documented_in_danish_and_english() -> None:
    for register in REGISTERS:
        assert register.title_da and register.title_en and register.description
        for column in register.columns:
            assert column.description_da.strip() and column.description_en.strip()


def test_cpr_columns_are_marked_for_pseudonymisation() -> None:
    cpr_columns = {(r.name, c.name) for r in REGISTERS for c in r.columns if c.cpr}
    assert ("cpr_personer", "pnr") in cpr_columns
    assert all(name == "pnr" for _, name in cpr_columns)


def test_event_dates_are_dates_or_timestamps() -> None:
    for register in REGISTERS:
        if register.event_date:
            kind = register.column(register.event_date).type
            assert kind in (ColumnType.DATE, ColumnType.TIMESTAMP)


def test_patterns_compile() -> None:
    for register in REGISTERS:
        for column in register.columns:
            if column.pattern:
                re.compile(column.pattern)


def test_unknown_register_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known registers: cpr_personer"):
        REGISTERS["lpr_kontakt"]


def test_a_key_naming_a_missing_column_is_rejected() -> None:
    col = Column("a", ColumnType.STRING, "a", "a")
    with pytest.raises(ValueError, match="'b' is not one of its columns"):
        Register("x", "X", "x", "x", "x", (col,), key=("b",))


def test_code_lists_have_unique_codes_and_labels() -> None:
    for code_list in CODE_LISTS.values():
        assert len(set(code_list.values)) == len(code_list), code_list.name
        assert all(c.label_da and c.label_en for c in code_list)
