"""The net under the echoes: a CPR-shaped number the request carried is masked in any answer."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from koes.web.echo_guard import EchoGuard

CPR = "0101901234"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/echo")
    async def echo(request: Request) -> Response:
        return PlainTextResponse(f"you asked for {request.url.query}; 9999999999 stays")

    @app.post("/form")
    async def form(request: Request) -> Response:
        values = await request.form()
        return Response(f"<input value='{values['username']}'>", media_type="text/html")

    @app.get("/go")
    async def go(request: Request) -> Response:
        return RedirectResponse(f"/next?{request.url.query}", headers={"X-Echo": request.url.query})

    @app.get("/stream")
    async def stream(request: Request) -> Response:
        value = request.query_params["v"]
        chunks = [f"a{value[:4]}".encode(), f"{value[4:]}b".encode()]  # the number straddles two chunks

        async def parts() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return StreamingResponse(parts(), media_type="text/csv")

    @app.get("/binary")
    async def binary(request: Request) -> Response:
        return Response(request.query_params["v"].encode(), media_type="application/octet-stream")

    app.add_middleware(EchoGuard)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(_app())


def test_a_carried_number_is_masked_in_the_body(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "koes.web"):
        answer = client.get(f"/echo?f.kommune={CPR}")
    assert answer.text == "you asked for f.kommune=XXXXXXXXXX; 9999999999 stays"
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert "masked a CPR-shaped number" in caplog.text and CPR not in caplog.text


def test_an_encoded_number_is_still_caught(client: TestClient) -> None:
    answer = client.get("/echo?f.kommune=%30101901234")
    assert answer.text.endswith("; 9999999999 stays")


def test_a_posted_number_is_masked(client: TestClient) -> None:
    answer = client.post("/form", data={"username": CPR})
    assert answer.text == "<input value='XXXXXXXXXX'>"


def test_headers_and_redirects_are_masked(client: TestClient) -> None:
    answer = client.get(f"/go?x={CPR}", follow_redirects=False)
    assert answer.headers["location"] == "/next?x=XXXXXXXXXX"
    assert answer.headers["x-echo"] == "x=XXXXXXXXXX"


def test_a_number_split_between_chunks_is_masked(client: TestClient) -> None:
    answer = client.get(f"/stream?v={CPR}")
    assert answer.text == "aXXXXXXXXXXb"


def test_answers_without_a_carried_number_pass_untouched(client: TestClient) -> None:
    assert client.get("/echo?f.kommune=101").text == "you asked for f.kommune=101; 9999999999 stays"
    assert client.get(f"/binary?v={CPR}").content == CPR.encode()  # not text: a file is not rewritten
