"""Dashboard parts without a browser (issue 18): every measure defined in Danish, the breadcrumb
trail of an address, map areas as named links, Danish alphabetical order."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from koes.refdata import load_refdata
from koes.semantic.definitions import definition, missing_definitions
from koes.semantic.loader import default_catalog
from koes.web.formats import danish_key
from koes.web.i18n import Translator
from koes.web.maps import AreaValue, MapTexts, choropleth_svg
from koes.web.navigation import breadcrumbs

NS = {"svg": "http://www.w3.org/2000/svg"}
TEXTS = MapTexts("Titel", "Beskrivelse", "Skjult", "Ingen data", "Din kommune")


def test_every_catalog_measure_has_a_danish_definition_and_no_definition_is_stray() -> None:
    catalog = default_catalog()
    assert missing_definitions(catalog) == []
    measure = catalog.measures["indlaeggelser_pr_1000"]
    assert definition(measure, "en") == measure.description
    assert definition(measure, "da").startswith("Indlæggelser pr. 1.000 borgere")


def test_the_trail_names_home_each_section_and_the_page_itself() -> None:
    t = Translator("da")
    trail = breadcrumbs("/standard/noegletal?year=2023", "Nøgletal", t)
    assert [(c.label, c.href) for c in trail] == [
        ("Forside", "/"),
        ("Standardrapporter", "/standard"),
        ("Nøgletal", None),
    ]
    cohort = breadcrumbs("/avanceret/abc123/personer", "Kohortens borgere", Translator("en"))
    assert [c.href for c in cohort] == ["/", "/avanceret", "/avanceret/abc123", None]
    assert breadcrumbs("/", "Forside", t) == []
    assert [c.href for c in breadcrumbs("/admin/organisations", "Organisationer", t)] == ["/", None]


def test_with_a_link_every_area_is_a_named_link_to_its_view() -> None:
    names = {m.code: m.name for m in load_refdata().municipalities}
    areas = {code: AreaValue(1.5, "1,5") for code in names} | {851: AreaValue(None, "<5", hidden=True)}
    svg = ET.fromstring(choropleth_svg(areas, TEXTS, fmt=str, link=lambda code: f"/r?municipality={code}&x=1"))
    assert svg.get("role") == "group"
    links = svg.findall(".//svg:a", NS)
    assert len(links) == 98
    by_code = {int(a.get("data-kommunekode", "0")): a for a in links}
    assert by_code[101].get("href") == "/r?municipality=101&x=1"
    assert by_code[101].get("aria-label") == f"{names[101]}: 1,5"
    assert by_code[851].get("aria-label") == f"{names[851]}: <5"
    plain = ET.fromstring(choropleth_svg(areas, TEXTS, fmt=str))
    assert plain.get("role") == "img" and plain.findall(".//svg:a", NS) == []


def test_danish_order_puts_aeoeaa_last_and_reads_aa_as_aa() -> None:
    names = ["Aarhus", "Tårnby", "Tønder", "Assens", "Ærø", "Odense", "Aabenraa", "Faaborg-Midtfyn", "Fanø"]
    assert sorted(names, key=danish_key) == [
        "Assens",
        "Fanø",
        "Faaborg-Midtfyn",
        "Odense",
        "Tønder",
        "Tårnby",
        "Ærø",
        "Aabenraa",
        "Aarhus",
    ]
