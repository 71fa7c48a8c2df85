"""The differencing guard: a new cohort must not differ from another of its organisation by a handful.

Two cohorts that differ by one person let a user subtract one set of figures from the other and
read that person's. At upload, the new cohort is compared with every live cohort of the same
organisation (exactly, by pseudonym) and with every cohort deleted in the last
``cohort_guard_days`` (through its :class:`Trace`). It is refused when, for any of them,

    the two share at least one person, are not identical, and
    |new − old| + |old − new| < min_difference   (persons added plus persons removed)

Identical sets are allowed: a re-upload of the same persons reveals nothing new.

The same rule guards **figures** (:func:`counted_too_close`): the persons a cohort's figures count
(the whole cohort, or the groups a filter picks) are compared with every group already open to the
organisation's users (the whole cohort beside a narrowing of it, every other live cohort and each of
its groups, and the traces of the recently deleted), so that a filter cannot narrow a cohort to a
set one person away from another published one.

A deleted cohort's pseudonyms are not kept. Its trace holds its size, a keyed digest of the whole
set (identity, exactly) and a keyed Bloom filter of its members (membership, with false positives
at rate about ``FALSE_POSITIVE_RATE``, never false negatives). A false positive makes a new person
look like an old member, so the overlap is over-counted and both one-sided differences are
under-counted: the estimated difference is never larger than the true one. Every refusal the exact
rule would make is therefore made from a trace too (overlap > 0 still shows, a difference under the
minimum stays under it, and a set that differs fails the digest even when false positives hide the
difference entirely). A trace can only refuse more, never less: it errs on the safe side.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

BITS_PER_MEMBER = 32
HASHES = 22  # ≈ BITS_PER_MEMBER · ln 2: the fewest false positives for this many bits
FALSE_POSITIVE_RATE = (1 - math.exp(-HASHES / BITS_PER_MEMBER)) ** HASHES  # ≈ 2·10⁻⁷ per non-member
MIN_BITS = 64
_CONTEXT = b"koes cohort trace v1"


def trace_key(pseudonym_key: bytes) -> bytes:
    """The key of traces, derived from the warehouse key: a trace cannot be tested without it."""
    return hmac.new(pseudonym_key, _CONTEXT, hashlib.sha256).digest()


@dataclass(frozen=True)
class Trace:
    """What is kept of a deleted cohort for the guard: never a pseudonym."""

    size: int
    salt: str  # hex, random per trace: two traces of one set share no bits
    digest: str  # keyed digest of the sorted set
    hashes: int
    bloom: bytes

    def contains(self, key: bytes, pseudonyms: Iterable[str]) -> int:
        """How many of ``pseudonyms`` test positive (members, plus false positives)."""
        positions = _positions(key, self.salt, list(pseudonyms), len(self.bloom) * 8, self.hashes)
        if positions.size == 0:
            return 0
        bits = np.unpackbits(np.frombuffer(self.bloom, dtype=np.uint8), bitorder="little")
        return int(np.all(bits[positions] == 1, axis=1).sum())


@dataclass(frozen=True)
class Difference:
    overlap: int  # persons in both (from a trace: at least the true overlap)
    added: int  # in the new cohort only (from a trace: at most the true number)
    removed: int  # in the old cohort only (likewise)
    identical: bool

    def too_small(self, min_difference: int) -> bool:
        return self.overlap > 0 and not self.identical and self.added + self.removed < min_difference


def make_trace(key: bytes, pseudonyms: Collection[str]) -> Trace:
    salt = secrets.token_hex(16)
    bits = max(MIN_BITS, 8 * math.ceil(len(pseudonyms) * BITS_PER_MEMBER / 8))
    filter_ = np.zeros(bits, dtype=np.uint8)
    positions = _positions(key, salt, list(pseudonyms), bits, HASHES)
    filter_[positions.ravel()] = 1
    bloom = np.packbits(filter_, bitorder="little").tobytes()
    return Trace(len(pseudonyms), salt, set_digest(key, salt, pseudonyms), HASHES, bloom)


def set_digest(key: bytes, salt: str, pseudonyms: Iterable[str]) -> str:
    mac = hmac.new(key, f"set|{salt}|".encode(), hashlib.sha256)
    for pseudonym in sorted(set(pseudonyms)):
        mac.update(pseudonym.encode("ascii") + b"\n")
    return mac.hexdigest()


def compare_sets(new: Collection[str], old: Collection[str]) -> Difference:
    new_set, old_set = set(new), set(old)
    overlap = len(new_set & old_set)
    return Difference(overlap, len(new_set) - overlap, len(old_set) - overlap, new_set == old_set)


def compare_counts(new_size: int, old_size: int, shared: int) -> Difference:
    """Two sets known by their sizes and the size of their intersection (counted by the database)."""
    return Difference(shared, new_size - shared, old_size - shared, shared == new_size == old_size)


def compare_trace(key: bytes, new: Collection[str], trace: Trace) -> Difference:
    overlap = trace.contains(key, new)
    identical = set_digest(key, trace.salt, new) == trace.digest
    return Difference(overlap, len(new) - overlap, max(0, trace.size - overlap), identical)


def counted_too_close(
    counted: Collection[str],
    published: Iterable[Collection[str]],
    counts: Iterable[tuple[int, int]],
    traces: Iterable[Trace],
    key: bytes,
    minimum: int,
) -> bool:
    """Whether the persons ``counted`` by a cohort's figures differ by fewer than ``minimum`` from a
    published group: one known member by member (``published``), one known by its size and the
    number it shares with ``counted`` (``counts``: (size, shared), counted by the database), or a
    deleted cohort's trace."""
    if any(compare_sets(counted, group).too_small(minimum) for group in published):
        return True
    if any(compare_counts(len(counted), size, shared).too_small(minimum) for size, shared in counts):
        return True
    return any(compare_trace(key, counted, trace).too_small(minimum) for trace in traces)


def _positions(key: bytes, salt: str, pseudonyms: list[str], bits: int, hashes: int) -> np.ndarray:
    """Each pseudonym's ``hashes`` bit positions by double hashing of one keyed HMAC (Kirsch–Mitzenmacher)."""
    prefix = salt.encode("ascii") + b"|"
    raw = b"".join(hmac.new(key, prefix + p.encode("ascii"), hashlib.sha256).digest()[:16] for p in pseudonyms)
    pairs = np.frombuffer(raw, dtype="<u8").reshape(-1, 2)
    first, step = pairs[:, :1], pairs[:, 1:] | np.uint64(1)
    rounds = np.arange(hashes, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        mixed = first + rounds * step  # wraps modulo 2**64, as intended
    return (mixed % np.uint64(bits)).astype(np.int64)
