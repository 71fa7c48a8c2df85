"""Which hospital a patient goes to: mostly one in the home region, near the home municipality.

Each municipality gets a probability over the hospitals of its region that falls with the
distance between municipality centroids (from the shipped municipality map) and rises with the
hospital's size; a small share of stays go to a hospital in another region (specialised
treatment, illness while away), weighted by size only. A person has a usual draw (``u``) so
repeated visits from the same address tend to go to the same hospital.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from koes.refdata import RefData
from koes.synthetic.hospital_catalog import HOSPITAL_OUTSIDE_REGION_SHARE

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

DISTANCE_SCALE_KM = 30.0
UNIVERSITY_HOSPITAL_SIZE = 2.5
KM_PER_DEGREE_LAT = 110.6
KM_PER_DEGREE_LON = 62.3  # at 56° N


@dataclass(frozen=True)
class HospitalPlaces:
    ids: tuple[str, ...]
    region: Ints  # region code per hospital
    municipalities: Ints  # sorted 3-digit kommunekoder (rows of ``cum``)
    cum: Floats  # (municipalities, hospitals) cumulative choice probabilities
    peers: Ints  # (hospitals, max peers) other hospitals of the same region, -1 padded
    n_peers: Ints

    @classmethod
    def of(cls, refdata: RefData, regions: Mapping[int, int] | None = None) -> HospitalPlaces:
        """Choice probabilities with ``regions`` (kommunekode → region code; default: the shipped
        regions of 2007–2026); a hospital belongs to its municipality's region."""
        hospitals = refdata.hospitals
        ids = tuple(h.hospital_id for h in hospitals)
        of_region = regions or {m.code: m.region_code for m in refdata.municipalities}
        region = np.array([of_region[h.municipality_code] for h in hospitals], dtype=np.int64)
        size = np.array([UNIVERSITY_HOSPITAL_SIZE if _is_university(h.name) else 1.0 for h in hospitals])
        munis = sorted(refdata.municipalities, key=lambda m: m.code)
        codes = np.array([m.code for m in munis], dtype=np.int64)
        mun_region = np.array([of_region[m.code] for m in munis], dtype=np.int64)
        xy = _centroids(refdata, codes)
        hosp_xy = xy[np.searchsorted(codes, [h.municipality_code for h in hospitals])]
        dist = np.hypot(*(xy[:, None, :] - hosp_xy[None, :, :]).transpose(2, 0, 1))
        same = mun_region[:, None] == region[None, :]
        near = np.where(same, size * np.exp(-dist / DISTANCE_SCALE_KM), 0.0)
        away = np.where(same, 0.0, size[None, :])
        p = (1 - HOSPITAL_OUTSIDE_REGION_SHARE) * near / near.sum(axis=1, keepdims=True)
        p += HOSPITAL_OUTSIDE_REGION_SHARE * away / away.sum(axis=1, keepdims=True)
        peers, n_peers = _peers(region)
        return cls(ids, region, codes, np.cumsum(p, axis=1), peers, n_peers)

    def choose(self, municipality: npt.NDArray[np.int16], u: Floats) -> Ints:
        """Hospital index for stays of residents of ``municipality`` (3-digit codes)."""
        row = np.searchsorted(self.municipalities, municipality.astype(np.int64))
        row = np.clip(row, 0, len(self.municipalities) - 1)
        out = np.zeros(len(u), dtype=np.int64)
        order = np.argsort(row, kind="stable")
        bounds = np.flatnonzero(np.r_[True, row[order][1:] != row[order][:-1], True])
        last = self.cum.shape[1] - 1
        for a, b in itertools.pairwise(bounds):
            sel = order[a:b]
            out[sel] = np.minimum(np.searchsorted(self.cum[row[sel[0]]], u[sel]), last)
        return out

    def transfer_target(self, first: Ints, u: Floats) -> Ints:
        """Another hospital of the same region (the same one if the region has only one)."""
        k = self.n_peers[first]
        pick = np.minimum(np.floor(u * k).astype(np.int64), np.maximum(k - 1, 0))
        other = self.peers[first, pick]
        return np.where(k > 0, other, first)


@dataclass(frozen=True)
class HospitalEras:
    """Hospital choice per era of the regions (``koes.domain.geography``): from 1 January 2027 a
    resident of Region Østdanmark chooses among the hospitals of both old regions, which it owns.
    The draws (``u``) are the same in every era, so years before a change come out as before."""

    starts: npt.NDArray[np.datetime64]  # first day of each era, ascending
    eras: tuple[HospitalPlaces, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return self.eras[0].ids

    @classmethod
    def of(cls, refdata: RefData) -> HospitalEras:
        geography = refdata.geography
        days = sorted({m.valid_from for m in geography.memberships})
        if not days:
            return cls(np.array(["1900-01-01"], dtype="datetime64[D]"), (HospitalPlaces.of(refdata),))
        eras = tuple(HospitalPlaces.of(refdata, geography.regions_as_of(d)) for d in days)
        return cls(np.array(days, dtype="datetime64[D]"), eras)

    def _era(self, day: npt.NDArray[np.datetime64]) -> Ints:
        return np.maximum(np.searchsorted(self.starts, day.astype("datetime64[D]"), side="right") - 1, 0)

    def choose(self, municipality: npt.NDArray[np.int16], u: Floats, day: npt.NDArray[np.datetime64]) -> Ints:
        """Hospital index for stays starting on ``day`` of residents of ``municipality``."""
        era = self._era(day)
        out = np.zeros(len(u), dtype=np.int64)
        for i, places in enumerate(self.eras):
            sel = np.flatnonzero(era == i)
            if len(sel):
                out[sel] = places.choose(municipality[sel], u[sel])
        return out

    def transfer_target(self, first: Ints, u: Floats, day: npt.NDArray[np.datetime64]) -> Ints:
        """Another hospital of the same region on ``day``."""
        era = self._era(day)
        out = first.copy()
        for i, places in enumerate(self.eras):
            sel = np.flatnonzero(era == i)
            if len(sel):
                out[sel] = places.transfer_target(first[sel], u[sel])
        return out


def _is_university(name: str) -> bool:
    return "Universitetshospital" in name or "Rigshospitalet" in name


def _peers(region: Ints) -> tuple[Ints, Ints]:
    n = len(region)
    same = (region[:, None] == region[None, :]) & ~np.eye(n, dtype=bool)
    n_peers = same.sum(axis=1).astype(np.int64)
    peers = np.full((n, max(int(n_peers.max(initial=0)), 1)), -1, dtype=np.int64)
    for h in range(n):
        others = np.flatnonzero(same[h])
        peers[h, : len(others)] = others
    return peers, n_peers


def _centroids(refdata: RefData, codes: Ints) -> Floats:
    """Municipality centres in km (mean of the outline points), in the order of ``codes``."""
    xy = np.zeros((len(codes), 2))
    for feature in refdata.geojson("municipalities")["features"]:
        code = int(feature["properties"]["code"])
        i = int(np.searchsorted(codes, code))
        if i < len(codes) and codes[i] == code:
            xy[i] = _outline_points(feature["geometry"]).mean(axis=0) * (KM_PER_DEGREE_LON, KM_PER_DEGREE_LAT)
    return xy


def _outline_points(geometry: dict[str, Any]) -> Floats:
    """All [lon, lat] points of a (Multi)Polygon's rings."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return np.concatenate([np.asarray(ring, dtype=np.float64) for polygon in polygons for ring in polygon])
