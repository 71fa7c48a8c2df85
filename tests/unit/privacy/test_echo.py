"""The one helper for echoed request values: no CPR-shaped number goes back, however it came in."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from koes.domain.cpr import mask_cpr
from koes.privacy.echo import carried, mask_query, mask_target, mask_text, scrub, scrub_text

CPR = "0101901234"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CPR, "XXXXXX-XXXX"),
        ("010190-1234", "XXXXXX-XXXX"),
        ("anna", "anna"),
        ("%30101901234", "XXXXXX-XXXX"),  # percent-encoded digits are digits
        ("%2530101901234", "XXXXXX-XXXX"),  # encoded twice
        ("a+b 50%", "a+b 50%"),  # nothing to mask: exactly as it came
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_query_masks_names_and_values_and_keeps_the_rest() -> None:
    query = f"perspective=somatik&f.kommune={CPR}&f.{CPR}=1&row=kommune"
    masked = mask_query(query)
    assert CPR not in masked
    assert parse_qsl(masked) == [
        ("perspective", "somatik"),
        ("f.kommune", "XXXXXX-XXXX"),
        ("f.XXXXXX-XXXX", "1"),
        ("row", "kommune"),
    ]
    assert mask_query("perspective=somatik&measure=a%20b") == "perspective=somatik&measure=a%20b"


def test_mask_query_sees_through_encodings() -> None:
    for hidden in ("%30101901234", "010190%2D1234", "%2530%2531%2530%2531%2539%2530%2531%2532%2533%2534"):
        masked = mask_query(f"f.kommune={hidden}")
        assert carried([masked]) == frozenset(), hidden


def test_mask_target_masks_path_and_query() -> None:
    assert mask_target(f"/analyse?f.kommune={CPR}") == "/analyse?f.kommune=XXXXXX-XXXX"
    assert mask_target(f"/standard/{CPR}") == "/standard/XXXXXX-XXXX"
    assert mask_target("/admin/users/12?done=granted") == "/admin/users/12?done=granted"


def test_carried_finds_numbers_in_every_form() -> None:
    assert carried([f"/x?a={CPR}"]) == {CPR}
    assert carried(["010190-1234"]) == {CPR}
    assert CPR in carried(["%30101901234"])  # decoded (the raw text gives its own runs too)
    assert carried([b'{"filters": {"kommune": ["\\u00301019\\u00301234"]}}']) == {CPR}
    assert carried(["12345678901"]) == {"1234567890", "2345678901"}  # every number inside a longer run
    assert carried(["2024-05-01", "/admin/users/12", "koes_abc"]) == frozenset()


def test_scrub_masks_only_the_carried_numbers_and_keeps_the_length() -> None:
    body = f"<p>{CPR} and 010190-1234 and 9999999999 and 9{CPR}</p>".encode()
    clean = scrub(body, carried([CPR]))
    assert clean == b"<p>XXXXXXXXXX and XXXXXX-XXXX and 9999999999 and XXXXXXXXXXX</p>"
    assert len(clean) == len(body)
    assert scrub(body, frozenset()) is body
    assert scrub_text(f"/lang/da?next=%2Fanalyse%3Fk%3D{CPR}", carried([CPR])) == (
        "/lang/da?next=%2Fanalyse%3Fk%3DXXXXXXXXXX"
    )


@given(st.text(alphabet="0123456789-%2Dab=&?/", max_size=40))
@example("00000-00000")  # ten digits with the dash in another place than a CPR number's
def test_masked_output_carries_no_number(text: str) -> None:
    """Whatever goes in, what :func:`mask_text` and :func:`mask_query` give back carries no CPR-shaped number."""
    assert carried([mask_text(text)]) == frozenset()
    assert carried([mask_query(text)]) == frozenset()
    assert mask_cpr(mask_text(text)) == mask_text(text)
