"""What a request carried, echoed back without its CPR-shaped values.

No CPR number leaves the server in a page, a link, a header, a redirect or a message (DESIGN §5.1),
not even back to whoever typed it into an address, a form or a request body: a page repeats its
own address in the language links and in ``next``, refills a form after a problem, names bad values
in problem texts and redirects. Every such echo goes through this module:

- :func:`mask_text`: every CPR-shaped run masked (``XXXXXX-XXXX``): a user name to refill, a value
  to show;
- :func:`mask_query`: a URL query with each name and value decoded, masked and encoded again, so a
  number hidden as ``%30101901234`` (or encoded twice) is masked too; a query with nothing to mask
  is returned exactly as it came;
- :func:`mask_target`: a same-site address (path and query) for a link or a redirect.

Under them, a net for the echoes nobody thought of (``koes.web.echo_guard``): :func:`carried`
collects the CPR-shaped numbers a request carried, and :func:`scrub` masks those numbers wherever
they appear in an answer, keeping its length (so a ``Content-Length`` stays right).

"CPR-shaped" is the rule of :func:`koes.domain.cpr.mask_cpr`: ten ASCII digits with an optional
dash after the sixth, no date check, no word boundary. It errs on the side of masking.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode

from koes.domain.cpr import mask_cpr

__all__ = ["carried", "mask_query", "mask_target", "mask_text", "scrub", "scrub_text"]

MAX_DECODINGS = 3  # %2530 → %30 → 0: an address encoded three times over is still read
# A run of digits (single dashes allowed between them) long enough to hold a CPR-shaped number.
_RUN = re.compile(r"[0-9](?:-?[0-9]){9,}")
_RUN_BYTES = re.compile(rb"[0-9](?:-?[0-9]){9,}")
_DIGIT = re.compile(r"[0-9]")
_DIGIT_BYTES = re.compile(rb"[0-9]")


def mask_text(text: str) -> str:
    """``text`` with every CPR-shaped run masked; also one hidden by percent-encoding."""
    decoded = _decoded(text)
    # CPR-shaped runs as XXXXXX-XXXX; then any other run that ``carried`` reads as ten digits
    # ("00000-00000"), so what is masked here is never found there.
    masked = _RUN.sub(lambda run: _DIGIT.sub("X", run.group()), mask_cpr(decoded))
    return masked if masked != decoded else text


def mask_query(query: str) -> str:
    """A URL query string whose names and values hold no CPR-shaped number (decoded, masked, encoded)."""
    if not query or mask_text(query) == query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(mask_text(name), mask_text(value)) for name, value in pairs])


def mask_target(target: str) -> str:
    """A same-site address (``/path?query``) with no CPR-shaped number in its path or its query."""
    path, mark, query = target.partition("?")
    if mask_text(path) != path:
        path = quote(mask_text(path), safe="/")
    return f"{path}{mark}{mask_query(query)}"


def carried(texts: Iterable[str | bytes]) -> frozenset[str]:
    """The CPR-shaped numbers in what a request carried (its path, query, body …), as ten digits.

    Each text is read as it came, percent-decoded (up to :data:`MAX_DECODINGS` times) and, when it
    is JSON, value by value (``"\\u0030…"`` is a digit too). A longer run of digits gives every
    ten-digit number inside it."""
    found: set[str] = set()
    for item in texts:
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        for variant in (text, *_decodings(text), *_json_values(text)):
            for run in _RUN.findall(variant):
                digits = run.replace("-", "")
                found.update(digits[i : i + 10] for i in range(len(digits) - 9))
    return frozenset(found)


def scrub(body: bytes, numbers: frozenset[str]) -> bytes:
    """``body`` with every run of digits that holds one of ``numbers`` turned into ``X``s, dashes
    kept: the same length, so a ``Content-Length`` stays right."""
    if not numbers:
        return body

    def masked(match: re.Match[bytes]) -> bytes:
        run = match.group().decode("ascii")
        digits = run.replace("-", "")
        if any(digits[i : i + 10] in numbers for i in range(len(digits) - 9)):
            return _DIGIT_BYTES.sub(b"X", match.group())
        return match.group()

    return _RUN_BYTES.sub(masked, body)


def scrub_text(text: str, numbers: frozenset[str]) -> str:
    """:func:`scrub` for text (a header value)."""
    if not numbers:
        return text

    def masked(match: re.Match[str]) -> str:
        digits = match.group().replace("-", "")
        if any(digits[i : i + 10] in numbers for i in range(len(digits) - 9)):
            return _DIGIT.sub("X", match.group())
        return match.group()

    return _RUN.sub(masked, text)


def _decoded(text: str) -> str:
    for decoded in _decodings(text):
        text = decoded
    return text


def _decodings(text: str) -> Iterator[str]:
    """``text`` percent-decoded once, twice … while that changes it (at most :data:`MAX_DECODINGS`)."""
    for _ in range(MAX_DECODINGS):
        if "%" not in text and "+" not in text:
            return
        decoded = unquote_plus(text)
        if decoded == text:
            return
        yield decoded
        text = decoded


def _json_values(text: str) -> Iterator[str]:
    """Every string, number and key of ``text`` when it is a JSON document; nothing otherwise."""
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "["):
        return
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError):
        return
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            yield str(value)
