"""The JSON API's description for people: a plain page drawn from the OpenAPI document.

No script and nothing from a CDN: the page is HTML the server writes, every text escaped. The
machine-readable description stays at ``/api/v1/openapi.json`` (FastAPI's own).
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from koes.privacy.roles import public
from koes.web.api.http import PREFIX
from koes.web.auth import EndpointTable, authorise

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

# What every endpoint needs (roles.yaml permissions). An endpoint missing here is refused for
# everyone and fails tests/integration/test_access_api.py.
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/docs"): public(),
    ("GET", f"{PREFIX}/openapi.json"): public(),
}


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """A plain page describing the API from its OpenAPI document: no script, nothing from a CDN."""
    return HTMLResponse(render_docs(request.app.openapi()))


def render_docs(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(str(info.get('title', 'API')))}</title></head><body>",
        f"<h1>{esc(str(info.get('title', 'API')))} {esc(str(info.get('version', '')))}</h1>",
        f"<p>{esc(str(info.get('description', '')))}</p>",
        f'<p>Machine-readable description: <a href="{PREFIX}/openapi.json">{PREFIX}/openapi.json</a> (OpenAPI '
        f"{esc(str(spec.get('openapi', '')))}).</p>",
    ]
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f"<h2><code>{esc(method.upper())} {esc(path)}</code></h2>")
            parts.append(f"<p><strong>{esc(str(op.get('summary', '')))}</strong></p>")
            if op.get("description"):
                parts.append(f"<p>{esc(str(op['description']))}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<ul>")
                for p in params:
                    schema = p.get("schema", {})
                    choices = schema.get("enum") or [a.get("const") for a in schema.get("anyOf", []) if "const" in a]
                    allowed = f" ({', '.join(map(str, choices))})" if choices else ""
                    default = f"; default {schema['default']}" if "default" in schema else ""
                    parts.append(
                        f"<li><code>{esc(p['name'])}</code>{esc(allowed)}{esc(default)}: "
                        f"{esc(str(p.get('description', '')))}</li>"
                    )
                parts.append("</ul>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "example" in body:
                parts.append("<p>Example body:</p>")
                parts.append(f"<pre>{esc(json.dumps(body['example'], indent=2, ensure_ascii=False))}</pre>")
            statuses = ", ".join(esc(str(s)) for s in op.get("responses", {}))
            parts.append(
                f"<p>Responses: {statuses}. Errors share one envelope: "
                '<code>{"error": {"status", "code", "message", "problems"}}</code>.</p>'
            )
    parts.append("</body></html>")
    return "\n".join(parts)
