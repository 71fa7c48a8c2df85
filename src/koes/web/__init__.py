"""The web app: the FastAPI app factory, sign-in and the gate, the JSON API (``api/``) and the
server-rendered pages (``pages/``). Thin over the services: it imports ``koes.services`` and the
layers' plain types, never an engine, storage or the app database (DESIGN §3)."""
