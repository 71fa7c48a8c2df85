"""A real OpenID Connect provider for the single sign-on tests (importable as ``oidc_support``).

``tests/oidc_provider.mjs`` runs panva's ``oidc-provider`` from ``.cache/npm`` (``make test`` installs
it with npm, next to axe-core) under Node. :func:`running_provider` starts it on a free port, waits
for its discovery document and stops it after; without Node or the package the test is skipped,
or fails when ``CI`` is set. :meth:`Broker.sign_in` plays the person at the broker's sign-in page
over HTTP (the browser test uses Chromium instead).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
NPM_MODULES = ROOT / ".cache" / "npm" / "node_modules"
PACKAGE = NPM_MODULES / "oidc-provider" / "package.json"
SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"
PUBLIC_CLIENT = "koes-public"
CONFIDENTIAL_CLIENT = "koes-confidential"
CLIENT_SECRET = "test-only-client-secret-7c1f0d2b9e"
SCOPES = "openid profile koes"


def require_provider() -> str:
    """Node's path; skip (or fail in CI) when Node or the oidc-provider package is missing."""
    node = shutil.which("node")
    missing = "node" if node is None else (str(PACKAGE) if not PACKAGE.exists() else None)
    if missing is None and node is not None:
        return node
    message = f"{missing} is missing: run make test (npm install --prefix .cache/npm oidc-provider@9)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Broker:
    issuer: str

    def sign_in(self, authorization_url: str, login: str, *, mfa: bool = True, cancel: bool = False) -> str:
        """Follow the authorization URL, sign in as ``login`` at the broker's page; the callback URL."""
        with httpx.Client(follow_redirects=False, timeout=10) as http:
            answer = http.get(authorization_url)
            assert answer.status_code in (302, 303), answer.text
            interaction = urljoin(authorization_url, answer.headers["location"])
            assert http.get(interaction).status_code == 200
            form = {"login": login, **({"mfa": "1"} if mfa else {}), **({"abort": "1"} if cancel else {})}
            answer = http.post(interaction, data=form)
            assert answer.status_code in (302, 303), answer.text
            answer = http.get(urljoin(interaction, answer.headers["location"]))
            assert answer.status_code in (302, 303), answer.text
            return str(answer.headers["location"])


@contextmanager
def running_provider(
    redirect_uris: Sequence[str], accounts: Mapping[str, Mapping[str, str]], host: str = "127.0.0.1"
) -> Iterator[Broker]:
    node = require_provider()
    config = {
        "modules": str(NPM_MODULES),
        "host": host,
        "redirect_uris": list(redirect_uris),
        "clients": [{"client_id": PUBLIC_CLIENT}, {"client_id": CONFIDENTIAL_CLIENT, "client_secret": CLIENT_SECRET}],
        "accounts": accounts,
    }
    with tempfile.TemporaryDirectory(prefix="koes-oidc-") as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        log = (Path(folder) / "provider.log").open("w", encoding="utf-8")
        process = subprocess.Popen(
            [node, str(SCRIPT), str(path)],
            stdin=subprocess.PIPE,  # closed when the tests end: the provider stops with them
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            issuer = _ready(process, Path(folder) / "provider.log")
            _wait_for_discovery(issuer)
            yield Broker(issuer)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            log.close()


def _ready(process: subprocess.Popen[str], log: Path) -> str:
    """The issuer the script prints once it listens (``ready <issuer>``)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if selector.select(timeout=30):
            line = process.stdout.readline().strip()
            if line.startswith("ready "):
                return line.removeprefix("ready ")
    raise RuntimeError(f"the OpenID Connect provider did not start: {log.read_text(encoding='utf-8')[-2000:]}")


def _wait_for_discovery(issuer: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the OpenID Connect provider's discovery document never answered")
        time.sleep(0.1)
