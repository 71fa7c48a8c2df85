"""The app of one ``koes serve --workers N`` process: built from the ``KOES_*`` variables the parent set."""

from __future__ import annotations

from fastapi import FastAPI

from koes.settings import Settings
from koes.web.app import create_app


def app() -> FastAPI:
    """uvicorn's factory (``koes.web.workers:app``) in each worker process."""
    return create_app(Settings.from_env())
