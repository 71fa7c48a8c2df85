"""PNG downloads of charts and maps carry what the figures are and where they come from (issue 18:
"PNG downloads of maps and charts carry title, measure, period, population, source and the release
id"): the page's title with its population, the figure's heading and the provenance stamp (source,
release, disclosure control, when computed) are drawn in a band under the picture."""

from __future__ import annotations

import struct

import pytest
from playwright.sync_api import Locator, Page, expect

from browser.test_signin import sign_in
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")
ANALYST = "kbh-analytiker"
SOURCE = {"da": "Kilde: KØS, dataudtræk", "en": "Source: KØS, release"}
RULE = {"da": "Diskretionering:", "en": "Disclosure control:"}

# Dark pixels in the lowest tenth of the image: the stamp's text (the picture above ends in white).
DARK_IN_BAND = """async (button) => {
  const bitmap = await createImageBitmap(button.pngBlob);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const top = Math.floor(bitmap.height * 0.9);
  const pixels = context.getImageData(0, top, bitmap.width, bitmap.height - top).data;
  let dark = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i] < 100 && pixels[i + 1] < 100 && pixels[i + 2] < 100) dark++;
  }
  return dark;
}"""


def _png_height(content: bytes) -> int:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return int(struct.unpack(">I", content[20:24])[0])  # IHDR: width, then height


def _stamp(page: Page, button: Locator, lang: str) -> list[str]:
    target = page.locator(f"#{button.get_attribute('data-target')}")
    if target.evaluate("t => t.tagName.toLowerCase()") != "svg":
        expect(target).to_have_attribute("data-drawn", "true", timeout=20_000)  # charts.js has run
    button.hover()  # a chart's PNG is made when the pointer reaches its button; the map's at once
    expect(button).to_have_attribute("data-ready", "true", timeout=20_000)  # a loaded machine is slow
    lines: list[str] = button.evaluate("b => JSON.parse(b.getAttribute('data-stamp-lines'))")
    release = (page.locator(".provenance .release-id").text_content() or "").strip()
    population = (page.locator("#population").text_content() or "").strip()
    assert release and population
    assert population in lines[0], lines  # the page's title with its population
    assert lines[-1].startswith(SOURCE[lang]) and release in lines[-1] and RULE[lang] in lines[-1], lines
    assert button.evaluate(DARK_IN_BAND) > 50  # the lines are drawn, not only listed
    return lines


@pytest.mark.parametrize("lang", ["da", "en"])
def test_chart_and_map_pngs_carry_title_population_and_provenance(page: Page, lang: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/medicin")
    if lang == "en":
        page.get_by_role("link", name="English").click()
    chart_button = page.locator(".report-chart .png-download").first
    chart = page.locator(f"#{chart_button.get_attribute('data-target')}")
    lines = _stamp(page, chart_button, lang)
    heading = chart_button.evaluate("b => b.closest('section').querySelector('h2, h3').textContent.trim()")
    assert heading in lines[1]  # the chart's own heading: its measure and period
    with page.expect_download() as png:
        chart_button.click()
    drawn = chart.bounding_box()
    assert drawn is not None
    assert _png_height(png.value.path().read_bytes()) > 2 * drawn["height"]  # the picture at 2×, and the band

    map_button = page.locator(".report-map .png-download")
    _stamp(page, map_button, lang)
    with page.expect_download() as png:
        map_button.click()
    assert png.value.suggested_filename.endswith("-kort.png")
