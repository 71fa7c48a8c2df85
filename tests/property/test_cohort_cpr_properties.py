"""Properties of CPR normalisation in uploads: every writing of a number reads back as that number,
a lost leading zero comes back exactly when it can, and no outcome carries the digits."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from koes.cohorts.normalise import normalise_cpr
from koes.cohorts.report import masked
from koes.domain.cpr import Cpr, century, mod11_ok, parse_cpr

SPACES = [" ", "\u00a0", "\u202f", "\u2009", "\t"]
DASHES = ["-", "\u2010", "\u2011", "\u2013", "\u2014", "\u2212"]


def same_reading(ours: Cpr | None, domain: Cpr | None) -> bool:
    """Equal digits, birth date, sex and modulus 11 outcome (the domain's English notes are not used here)."""
    if ours is None or domain is None:
        return ours is domain
    return (ours.digits, ours.birth_date, ours.sex, ours.mod11_ok) == (
        domain.digits,
        domain.birth_date,
        domain.sex,
        domain.mod11_ok,
    )


@st.composite
def cpr_digits(draw: st.DrawFn) -> str:
    """Ten digits with a real birth date (any century the table allows) and any sequence number."""
    birth = draw(st.dates(date(1858, 1, 1), date(2057, 12, 31)))
    yy = birth.year % 100
    digit7 = draw(st.sampled_from([d for d in range(10) if century(d, yy) + yy == birth.year]))
    rest = draw(st.integers(0, 999))
    return f"{birth:%d%m}{yy:02d}{digit7}{rest:03d}"


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """The number as a person or a program may have written it."""
    date_part, sequence = digits[:6], digits[6:]
    joiner = draw(st.sampled_from(["", *DASHES, *SPACES]))
    text = date_part + joiner + sequence
    if draw(st.booleans()):  # spaces of any kind around and inside
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from(SPACES)) + text[position:]
    return draw(st.sampled_from([*SPACES, ""])) + text + draw(st.sampled_from([*SPACES, ""]))


@given(st.data())
def test_every_writing_reads_back_as_the_number(data: st.DataObject) -> None:
    digits = data.draw(cpr_digits())
    outcome = normalise_cpr(data.draw(written(digits)))
    assert outcome.cpr is not None and outcome.cpr.digits == digits
    assert same_reading(outcome.cpr, parse_cpr(digits).cpr)


@given(cpr_digits(), st.sampled_from([int, float, str]))
def test_a_number_cell_reads_back_and_a_lost_zero_is_restored_only_then(digits: str, kind: type) -> None:
    outcome = normalise_cpr(kind(int(digits)))
    assert outcome.cpr is not None and outcome.cpr.digits == digits
    assert outcome.restored_zero is digits.startswith("0")


@given(st.integers(100_000_000, 999_999_999))
def test_nine_digits_are_restored_exactly_when_the_padded_date_exists(number: int) -> None:
    outcome = normalise_cpr(number)
    padded = parse_cpr(f"0{number}")
    assert (outcome.cpr is not None) is padded.ok
    if outcome.cpr is not None:
        assert outcome.restored_zero and outcome.cpr.digits == f"0{number}"


@given(st.text(max_size=30))
def test_no_outcome_or_masked_form_holds_ten_digits_in_a_row(text: str) -> None:
    outcome = normalise_cpr(text)
    shown = " ".join(str(v) for v in outcome.params.values()) + " " + (outcome.problem or "") + masked(text)
    run = 0
    for ch in shown:
        run = run + 1 if ch.isdigit() else 0
        assert run < 6, "an outcome shows a run of digits from the cell"


@given(st.text("0123456789", min_size=10, max_size=10))
def test_any_ten_digits_agree_with_the_domain_parser(digits: str) -> None:
    # CPR-shaped text is either the domain's valid number or an impossible date; never a form problem.
    outcome = normalise_cpr(digits)
    assert same_reading(outcome.cpr, parse_cpr(digits).cpr)
    assert (outcome.cpr is None) is outcome.impossible_date


@given(st.text("0123456789", min_size=10, max_size=10))
def test_the_fast_modulus_11_is_the_domains(digits: str) -> None:
    outcome = normalise_cpr(digits)
    if outcome.cpr is not None:
        assert outcome.cpr.mod11_ok is mod11_ok(digits)
