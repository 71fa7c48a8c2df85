"""Hospital choice across the 2027 reform: Region Østdanmark's residents choose among the hospitals
of both old regions from 1 January 2027; before, nothing changes."""

from __future__ import annotations

from datetime import date

import numpy as np

from koes.refdata import load_refdata
from koes.synthetic.hospital_places import HospitalEras, HospitalPlaces

REF = load_refdata()
ROSKILDE = 265


def test_the_first_era_is_the_shipped_regions() -> None:
    eras = HospitalEras.of(REF)
    assert [str(d) for d in eras.starts] == ["2007-01-01", "2027-01-01"]
    before = HospitalPlaces.of(REF)
    assert np.array_equal(eras.eras[0].cum, before.cum) and np.array_equal(eras.eras[0].peers, before.peers)


def test_from_2027_a_zealand_resident_may_go_to_a_capital_hospital_as_to_a_near_one() -> None:
    """Roskilde's chance of Rigshospitalet rises from the small out-of-region share to a near one."""
    eras = HospitalEras.of(REF)
    rigs = eras.ids.index("rh-blegdamsvej")

    def chance(era: int) -> float:
        places = eras.eras[era]
        row = int(np.searchsorted(places.municipalities, ROSKILDE))
        p = np.diff(np.r_[0.0, places.cum[row]])
        return float(p[rigs])

    assert chance(1) > 5 * chance(0)
    n = 20_000
    u = np.random.default_rng(1).random(n)
    roskilde = np.full(n, ROSKILDE, dtype=np.int16)
    day = np.array([date(2026, 12, 31)] * (n // 2) + [date(2027, 1, 1)] * (n // 2), dtype="datetime64[D]")
    chosen = eras.choose(roskilde, u, day)
    assert (chosen[n // 2 :] == rigs).mean() > 3 * (chosen[: n // 2] == rigs).mean()
