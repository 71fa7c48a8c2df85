"""Reference documentation of the register layouts, rendered from the declarations.

``docs/reference/registers.md`` is this module's output (``koes registers > …``); a test fails
when the committed file and the declarations disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from koes.domain.codelists import CodeList
from koes.domain.registers import REFDATA_CODE_LISTS, Column, Register


def render_registers_markdown(registers: Iterable[Register], code_lists: Mapping[str, CodeList]) -> str:
    lines = [
        "# Register layouts",
        "",
        "Generated from `koes.domain.registers` by `koes registers`; do not edit by hand.",
        "The synthetic generator writes these layouts and the loader validates against them.",
        "",
    ]
    used: set[str] = set()
    for register in registers:
        lines += _register_section(register)
        used |= {c.codes for c in register.columns if c.codes}
    lines += ["## Code lists", ""]
    for name in sorted(used):
        lines += _code_list_section(name, code_lists)
    return "\n".join(lines).rstrip() + "\n"


def _register_section(register: Register) -> list[str]:
    lines = [
        f"## `{register.name}` — {register.title_da} ({register.title_en})",
        "",
        f"Source register: {register.source}. {register.description}",
        "",
    ]
    if register.key:
        lines.append(f"Unique key: {', '.join(f'`{k}`' for k in register.key)}.")
    for ref in register.references:
        lines.append(f"`{', '.join(ref.columns)}` must exist in `{ref.register}`.")
    if register.event_date:
        lines.append(f"Placed in a year by `{register.event_date}`.")
    for first, second in register.ordered:
        lines.append(f"`{second}` may not come before `{first}`.")
    lines += ["", "| column | type | required | rule | beskrivelse | description |", "|---|---|---|---|---|---|"]
    lines += [_column_row(c) for c in register.columns]
    return [*lines, ""]


def _column_row(column: Column) -> str:
    rules = []
    if column.codes:
        prefix = f" (first {column.code_prefix} characters)" if column.code_prefix else ""
        rules.append(f"code list `{column.codes}`{prefix}")
    if column.pattern:
        escaped = column.pattern.replace("|", "\\|")  # a bare | would split the Markdown cell
        rules.append(f"pattern `{escaped}`")
    if column.min_value is not None or column.max_value is not None:
        rules.append(f"range {_num(column.min_value)} to {_num(column.max_value)}")
    if column.iso_week:
        rules.append("ISO week YYYYWW")
    if column.cpr:
        rules.append("CPR number: pseudonymised on load")
    required = "yes" if column.required else "no"
    return (
        f"| `{column.name}` | {column.type.value} | {required} | {'; '.join(rules)} | "
        f"{column.description_da} | {column.description_en} |"
    )


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _code_list_section(name: str, code_lists: Mapping[str, CodeList]) -> list[str]:
    if name in REFDATA_CODE_LISTS:
        return [f"### `{name}`", "", "From the shipped reference data (`koes.refdata`).", ""]
    code_list = code_lists[name]
    lines = [f"### `{name}`", "", code_list.description, "", "| code | dansk | English |", "|---|---|---|"]
    lines += [f"| `{c.code}` | {c.label_da} | {c.label_en} |" for c in code_list]
    return [*lines, ""]
