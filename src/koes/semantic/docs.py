"""The catalog as Markdown (docs/reference/catalog.md), so the reference never drifts from the data.

``python -m koes.semantic.docs > docs/reference/catalog.md``; a test checks the file is current.
"""

from __future__ import annotations

from koes.semantic.loader import default_catalog
from koes.semantic.model import Catalog, Measure


def catalog_markdown(catalog: Catalog) -> str:
    lines = [
        "# Analysis catalog",
        "",
        "Generated from `src/koes/semantic/catalog/*.yaml` by `python -m koes.semantic.docs`; do not edit.",
        "View-only elements (not in exports or the API's downloads) are marked *view only*.",
        "",
        "## Perspectives",
        "",
        "| id | Danish | English | fixed filter | description |",
        "|---|---|---|---|---|",
    ]
    for p in catalog.perspectives.values():
        fixed = ", ".join(f"{a} = {'/'.join(v)}" for a, v in p.filters.items()) or "–"
        lines.append(f"| `{p.id}` | {p.label.da} | {p.label.en} | {fixed} | {p.description} |")
    lines += ["", "## Measures", ""]
    for p in catalog.perspectives.values():
        lines += [
            f"### {p.label.da} ({p.label.en})",
            "",
            "| id | Danish | unit | how | description |",
            "|---|---|---|---|---|",
        ]
        lines += [_measure_row(m) for m in catalog.measures_of(p.id)]
        lines.append("")
    unlisted = [m for m in catalog.measures.values() if not m.perspectives]
    if unlisted:
        lines += [
            "### Denominators of rates over time (never offered)",
            "",
            "| id | Danish | unit | how | description |",
            "|---|---|---|---|---|",
            *(_measure_row(m) for m in unlisted),
            "",
        ]
    lines += ["## Dimensions", "", "| id | Danish | English | needs | description |", "|---|---|---|---|---|"]
    for d in catalog.dimensions.values():
        view = " *view only*" if not d.downloadable else ""
        lines.append(f"| `{d.id}` | {d.label.da} | {d.label.en} | {', '.join(d.attributes)} | {d.description}{view} |")
    lines += ["", "## Segments", "", "| id | Danish | English | definition |", "|---|---|---|---|"]
    for s in catalog.segments.values():
        rule = " and ".join(f"{c.column} {c.op} {c.value}" for c in s.conditions)
        lines.append(f"| `{s.id}` | {s.label.da} | {s.label.en} | {rule} (on `{s.source}`) |")
    lines += [
        "",
        "## Sources, in routing order",
        "",
        "| id | table | kind | time grain | attributes |",
        "|---|---|---|---|---|",
    ]
    for source in catalog.sources_by_priority():
        lines.append(
            f"| `{source.id}` | `{source.table}` | {source.kind.value} | {source.time_grain} | "
            f"{', '.join(source.attributes)} |"
        )
    return "\n".join(lines) + "\n"


def _measure_row(m: Measure) -> str:
    if m.is_base:
        how = "; ".join(f"{s}: {i.aggregation.value}" for s, i in m.inputs.items())
    else:
        assert m.derived is not None
        how = f"{m.derived.value} of `{m.numerator}`" + (f" / `{m.denominator}`" if m.denominator else "")
    view = " *view only*" if not m.downloadable else ""
    return f"| `{m.id}` | {m.label.da} | {m.unit.value} | {how} | {m.description}{view} |"


if __name__ == "__main__":
    print(catalog_markdown(default_catalog()), end="")
