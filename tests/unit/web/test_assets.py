"""Static assets by content hash: the pages link them, they arrive compressed and are cached for ever."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import brotli
import pytest

from koes.settings import Settings
from koes.web.app import create_app
from koes.web.assets import Asset, asset_url, assets, chosen_coding, precompress_in_background
from koes.web.plotly_css import plotly_js

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

STATIC = Path(__file__).resolve().parents[3] / "src" / "koes" / "web" / "static"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("assets"))))


def test_a_page_links_its_sheet_by_content_hash_and_it_is_cached_for_ever(client: TestClient) -> None:
    page = client.get("/login").text
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert re.fullmatch(r"/assets/koes\.[0-9a-f]{16}\.css", href)
    answer = client.get(href, headers={"Accept-Encoding": "identity"})
    assert answer.status_code == 200 and answer.content == (STATIC / "koes.css").read_bytes()
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith("text/css") and "content-encoding" not in answer.headers
    again = client.get(href, headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


CODINGS = [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("br;q=0, gzip", "gzip")]


@pytest.mark.parametrize(("accept", "coding"), CODINGS)
def test_plotly_arrives_precompressed_and_decompresses_to_the_installed_script(
    client: TestClient, accept: str, coding: str
) -> None:
    # The test client decodes gzip and brotli itself; the raw stream shows what crossed the wire.
    with client.stream("GET", asset_url("plotly.min.js"), headers={"Accept-Encoding": accept}) as answer:
        raw = b"".join(answer.iter_raw())
        assert answer.status_code == 200 and answer.headers["content-encoding"] == coding
        assert answer.headers["vary"] == "Accept-Encoding"
    script = plotly_js().read_bytes()
    assert (brotli.decompress(raw) if coding == "br" else gzip.decompress(raw)) == script
    assert len(raw) < len(script) / 3


def test_an_unknown_or_outdated_address_is_not_found(client: TestClient) -> None:
    outdated = re.sub(r"\.[0-9a-f]{16}\.", ".0000000000000000.", asset_url("charts.js"))
    assert client.get(outdated).status_code == 404
    assert client.get("/assets/nothing.css").status_code == 404


def test_every_asset_the_pages_use_is_known_and_a_new_content_is_a_new_address() -> None:
    assert {"koes.css", "charts.js", "plotly.min.js", "plotly.css"} <= set(assets())
    first, second = Asset("x.js", b"one", "text/javascript"), Asset("x.js", b"two", "text/javascript")
    assert first.url != second.url and first.url.startswith("/assets/x.") and first.url.endswith(".js")


def test_the_coding_is_the_best_the_client_accepts() -> None:
    assert chosen_coding(None) == "identity"
    assert chosen_coding("gzip;q=0.5, br;q=0.8") == "br"
    assert chosen_coding("*") == "br"
    assert chosen_coding("identity, gzip;q=0") == "identity"
    assert chosen_coding("gzip;q=abc") == "identity"


def test_the_app_compresses_plotly_before_the_first_browser_asks() -> None:
    script = assets()["plotly.min.js"]
    script._encoded.clear()  # as in a new process (another test may have asked for it already)
    precompress_in_background().join(timeout=60)
    assert set(script._encoded) >= {"br", "gzip"}  # ready: a first chart page does not wait for it
    assert brotli.decompress(script.body("br")) == script.content
