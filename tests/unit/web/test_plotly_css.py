"""Plotly.js's styles as files, read from the installed script: the pages need no inline style."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from koes.web.plotly_css import (
    PlotlyStyleError,
    embedded_sheets,
    plotly_css,
    plotly_js,
    style_elements_made,
    style_rules,
)


def test_the_style_table_is_read_with_its_placeholders_expanded() -> None:
    rules = dict(style_rules(plotly_js().read_text(encoding="utf-8")))
    assert rules[".js-plotly-plot .plotly .main-svg"].startswith("position:absolute;")
    assert ".plotly-notifier" in rules and not any(sel.startswith(("X", "Y")) for sel in rules)
    css = plotly_css(plotly_js())
    assert css.count("{") == len(rules) and ".js-plotly-plot .plotly .modebar" in css


def test_every_style_element_the_script_can_make_is_served_as_a_file() -> None:
    """One <style> for the style table (skipped for the linked sheet), one per embedded sheet (each linked
    under its id): a newer Plotly.js that makes another one fails here, before a page is refused."""
    script = plotly_js().read_text(encoding="utf-8")
    sheets = embedded_sheets(plotly_js())
    assert style_elements_made(script) == 1 + len(sheets)
    assert all(sheet.css.startswith(".") and "{" in sheet.css for sheet in sheets)


def test_a_script_without_a_style_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlotlyStyleError):
        style_rules("var x = 1;")
    with pytest.raises(PlotlyStyleError):
        style_rules("{\"X,X div\":'a:b;',broken")
    assert style_rules('{"X,X div":\'direction:ltr;\',Y:"z-index:1;"};') == [
        (".js-plotly-plot .plotly, .js-plotly-plot .plotly div", "direction:ltr;"),
        (".plotly-notifier", "z-index:1;"),
    ]


def test_the_shipped_bundle_draws_every_trace_type_the_pages_ask_for() -> None:
    """The pages ship Plotly.js's basic bundle, not the full one: a chart of a type it lacks would
    stay blank, so every ``trace.type`` the chart script sets must be a trace module of the bundle."""
    charts = resources.files("koes.web").joinpath("static", "charts.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'trace\.type = "(\w+)"', charts))
    bundle = plotly_js().read_text(encoding="utf-8")
    shipped = set(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle))
    assert asked == {"bar", "scatter"}  # the test reads the script it means to
    assert asked <= shipped, asked - shipped
