"""Who reads /metrics behind a reverse proxy: X-Forwarded-For is believed only from trusted proxies.

With no trusted proxies (the default) the header changes nothing, whoever sends it. From a trusted
proxy, the client is the right-most forwarded address that is not a trusted proxy: entries further
left were written by the client and are ignored. Checked through the app (the test client sets the
peer's address) and through ``koes serve`` itself, whose uvicorn would otherwise believe the header
from 127.0.0.1 on its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from koes.settings import Settings
from koes.web.app import create_app
from koes.web.client_address import address_allowed, client_address
from support import koes_serving

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PROXY = ("10.0.0.5", 40000)
CLIENT_NET = "203.0.113.0/24"  # the clients allowed to read /metrics in these tests
CLIENT = "203.0.113.9"
OUTSIDER = "198.51.100.1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, threads=1, memory_limit="1GB", metrics_allow=CLIENT_NET)


def _status(settings: Settings, peer: tuple[str, int], *forwarded_for: str) -> int:
    headers = [("X-Forwarded-For", value) for value in forwarded_for]
    with TestClient(create_app(settings), client=peer) as client:
        return int(client.get("/metrics", headers=headers).status_code)


def test_by_default_a_forwarded_address_is_not_believed(settings: Settings) -> None:
    assert _status(settings, (CLIENT, 5000)) == 200  # the allowed client itself
    assert _status(settings, PROXY, CLIENT) == 403  # a proxy is its own address unless trusted
    assert _status(settings, (OUTSIDER, 5000), CLIENT) == 403  # a spoofed header from anyone


def test_a_trusted_proxy_forwards_the_client(settings: Settings) -> None:
    trusting = replace(settings, trusted_proxies="10.0.0.0/29")
    assert _status(trusting, PROXY, CLIENT) == 200
    assert _status(trusting, PROXY, OUTSIDER) == 403
    assert _status(trusting, PROXY) == 403  # the proxy's own request: its own address
    # The client wrote the left entry itself; the proxy appended the address it really came from.
    assert _status(trusting, PROXY, f"{CLIENT}, {OUTSIDER}") == 403
    assert _status(trusting, PROXY, CLIENT, OUTSIDER) == 403  # two header lines read as one list
    # A chain of trusted proxies: the right-most untrusted entry is the client.
    assert _status(trusting, PROXY, f"{OUTSIDER}, {CLIENT}, 10.0.0.6") == 200
    # The header is still ignored from a peer that is not a trusted proxy.
    assert _status(trusting, (OUTSIDER, 5000), CLIENT) == 403


def test_the_client_address_read_from_the_right() -> None:
    trusted = "10.0.0.0/8, 2001:db8::/32"
    assert client_address(OUTSIDER, [CLIENT], "") == OUTSIDER
    assert client_address("10.1.2.3", [CLIENT], "") == "10.1.2.3"
    assert client_address("10.1.2.3", [f"{CLIENT}, {OUTSIDER}"], trusted) == OUTSIDER
    assert client_address("10.1.2.3", [f"{CLIENT}, 10.9.9.9"], trusted) == CLIENT
    assert client_address("10.1.2.3", ["10.7.7.7, 10.9.9.9"], trusted) == "10.7.7.7"  # all trusted: the farthest
    assert client_address("::ffff:10.1.2.3", [f"[{'2001:db8::1'}]:443, {CLIENT}:5123"], trusted) == CLIENT
    assert client_address("2001:db8::7", ["2001:db8::1", "unknown"], trusted) == "unknown"
    assert not address_allowed("unknown", "0.0.0.0/0")
    assert address_allowed("::ffff:127.0.0.1", "127.0.0.1/8")
    assert not address_allowed("10.0.0.1", "127.0.0.1/8,::1/128")


# --- through `koes serve` --------------------------------------------------------------------


@pytest.fixture(params=["", "127.0.0.1"], ids=["no-proxy", "loopback-proxy"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``koes serve`` on a free port, reached from 127.0.0.1, trusting the proxies of the parameter."""
    trusted: str = request.param
    env = {"KOES_METRICS_ALLOW": CLIENT_NET, "KOES_TRUSTED_PROXIES": trusted, "KOES_THREADS": "1"}
    with koes_serving(tmp_path, env) as (base, _process):
        yield base, trusted


def test_koes_serve_believes_the_header_only_from_a_trusted_proxy(served: tuple[str, str]) -> None:
    base, trusted = served

    def status(forwarded_for: str) -> int:
        return httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": forwarded_for}).status_code

    if trusted:  # 127.0.0.1 plays the proxy
        assert status(CLIENT) == 200
        assert status(f"{CLIENT}, {OUTSIDER}") == 403
    else:  # no proxy: the header is the client's word, and this client is 127.0.0.1, not allowed
        assert status(CLIENT) == 403
