"""The web app: a FastAPI app factory, the JSON API (and, later, sign-in and pages).

The web package calls ``koes.services`` only, never an engine or storage (DESIGN §3).
"""
