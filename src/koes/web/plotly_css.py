"""Plotly.js's own style rules as a style sheet, so the Content-Security-Policy needs no inline style.

Plotly.js adds its rules (the mode bar, hover labels, drag layers …) to a ``<style>`` element it
makes at run time, which a policy without ``style-src 'unsafe-inline'`` refuses. It skips that when
the page already has an element with the id ``plotly.js-style-global`` and the class
``no-inline-styles``: the chart pages link this sheet with exactly that id and class. The rules are
read from the shipped Plotly.js bundle itself (a table of selector → declarations, in which ``X``
stands for ``.js-plotly-plot .plotly`` and ``Y`` for ``.plotly-notifier``), so the sheet always
matches the script it is served with; :func:`plotly_css` raises if the table cannot be found, and a
test draws a chart under the real policy.

Plotly.js also carries whole style sheets of its own (MapLibre's, for map traces), each added as a
``<style>`` element with a fixed id unless an element with that id is there already: each is served
as ``/vendor/plotly-<id>.css`` and linked with that id (:func:`embedded_sheets`). A test checks that
every ``<style>`` element the script can make is one of these.

What Plotly sets on single elements (sizes, colours, positions) goes through the CSS object model
(``element.style``), which the policy allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

STYLE_ELEMENT_ID = "plotly.js-style-global"
# The table begins with its first selector; a JS string literal, single- or double-quoted.
_TABLE_START = re.compile(r"""\{"X,X div":""")
_LITERAL = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_KEY = rf"{_LITERAL}|[A-Za-z_$][\w$]*"  # the minifier leaves a key such as Y unquoted
_PAIR = re.compile(rf"\s*({_KEY})\s*:\s*({_LITERAL})\s*([,}}])")
_PLACEHOLDERS = (("X", ".js-plotly-plot .plotly"), ("Y", ".plotly-notifier"))


# if(!document.getElementById("<id>")){var e=document.createElement("style");e.id="<id>",e.textContent='<css>'
_EMBEDDED = re.compile(
    r"""document\.getElementById\("([0-9A-Za-z_-]{8,})"\)\)\{var (\w+)=document\.createElement\("style"\);"""
    rf"""\2\.id="\1",\2\.textContent=({_LITERAL})"""
)


@dataclass(frozen=True)
class EmbeddedSheet:
    """A style sheet Plotly.js carries whole and adds under ``id`` unless that id is taken."""

    id: str
    css: str


class PlotlyStyleError(RuntimeError):
    """The installed plotly.min.js holds no style table this module can read."""


def style_rules(script: str) -> list[tuple[str, str]]:
    """Plotly's style table in ``script``: (selector, declarations) pairs, placeholders expanded."""
    start = _TABLE_START.search(script)
    if start is None:
        raise PlotlyStyleError("plotly.min.js has no style table (a newer Plotly.js?): the charts need one")
    rules = []
    position = start.start() + 1
    while True:
        pair = _PAIR.match(script, position)
        if pair is None:
            raise PlotlyStyleError(f"plotly.min.js: the style table cannot be read at offset {position}")
        selector, declarations = _unquote(pair.group(1)), _unquote(pair.group(2))
        for placeholder, meaning in _PLACEHOLDERS:
            selector = selector.replace(placeholder, meaning)
        rules.append((selector.replace(",", ", "), declarations))
        position = pair.end()
        if pair.group(3) == "}":
            return rules


@cache
def plotly_js() -> Path:
    """The Plotly.js the pages use: the basic bundle shipped in ``koes/web/vendor`` (no CDN)."""
    return Path(str(resources.files("koes.web").joinpath("vendor", "plotly-basic.min.js")))


def plotly_sheet_ids() -> list[str]:
    """The ids of the installed Plotly.js's embedded sheets, for the chart pages' ``<link>`` elements."""
    return [sheet.id for sheet in embedded_sheets(plotly_js())]


@cache
def plotly_css(script_path: Path) -> str:
    """The style sheet of the Plotly.js at ``script_path`` (read once)."""
    rules = style_rules(script_path.read_text(encoding="utf-8"))
    body = "\n".join(f"{selector} {{{declarations}}}" for selector, declarations in rules)
    return f"/* Plotly.js's style rules, read from {script_path.name}; see koes.web.plotly_css. */\n{body}\n"


@cache
def embedded_sheets(script_path: Path) -> tuple[EmbeddedSheet, ...]:
    """The style sheets the Plotly.js at ``script_path`` carries whole (read once)."""
    script = script_path.read_text(encoding="utf-8")
    return tuple(EmbeddedSheet(m.group(1), _unquote(m.group(3))) for m in _EMBEDDED.finditer(script))


def style_elements_made(script: str) -> int:
    """How many places in ``script`` make a ``<style>`` element (the style table's and each embedded sheet's)."""
    return script.count('createElement("style")') + script.count("createElement('style')")


def _unquote(literal: str) -> str:
    """A JS string literal's text (the table holds no escapes but quotes of the other kind), or a bare key."""
    if literal[:1] not in ("'", '"'):
        return literal
    return re.sub(r"\\(.)", r"\1", literal[1:-1])
