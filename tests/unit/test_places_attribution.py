"""Which of the fixture's requests a WHATSAT made (herdref.checker.places_attribution)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from herdref.checker.places_attribution import attribute, degrees


def _legacy(location: str, radius: str, at: float) -> dict[str, Any]:
    return {
        "path": "/maps/api/place/nearbysearch/json",
        "query": {"location": location, "radius": radius},
        "time": at,
    }


def _new(latitude: float, longitude: float, radius: float, at: float) -> dict[str, Any]:
    circle = {"center": {"latitude": latitude, "longitude": longitude}, "radius": radius}
    return {
        "path": "/v1/places:searchNearby",
        "query": {},
        "json": {"locationRestriction": {"circle": circle}},
        "time": at,
    }


MINE = b"+37.32+19.9910000"
EARLIER = b"+34.000300-118.000000"  # another check's client, whose request came late


def test_a_late_request_of_another_client_is_not_this_whatsats() -> None:
    point, earlier = degrees(MINE), degrees(EARLIER)
    assert point is not None and earlier is not None
    known = [point, earlier]
    late = _legacy("34.000300,-118.000000", "10000", at=11.0)
    found = attribute([late], point, None, since=10.0, known=known)
    assert found.own == [] and found.strays == []
    own = _legacy("37.32,19.991", "10000", at=11.5)
    found = attribute([late, own], point, Decimal(10_000), since=10.0, known=known)
    assert found.own == [own] and found.strays == []


def test_the_centre_is_compared_as_numbers_in_both_apis() -> None:
    point = degrees(MINE)
    assert point is not None
    for request in (_legacy("37.320000,19.991", "10000.0", 11.0), _new(37.32, 19.991, 10000, 11.0)):
        assert attribute([request], point, Decimal(10_000), since=10.0, known=[point]).own == [request]


def test_a_garbled_centre_after_the_whatsat_is_a_stray_and_one_before_it_is_not() -> None:
    point = degrees(MINE)
    assert point is not None
    for garbled in ("37.3,19.991", "-34.,5-58.3", "12-100,"):
        after = _legacy(garbled, "10000", at=11.0)
        before = _legacy(garbled, "10000", at=9.0)
        found = attribute([before, after], point, None, since=10.0, known=[point])
        assert found.own == [] and found.strays == [after], garbled


def test_a_request_of_another_radius_is_not_the_one_asked_for() -> None:
    point = degrees(b"+34.000300-118.000000")
    assert point is not None
    marker = _legacy("34.000300,-118.000000", "9000", at=11.0)
    assert attribute([marker], point, Decimal(10_000), since=10.0, known=[point]).own == []
    assert attribute([marker], point, Decimal(9_000), since=10.0, known=[point]).own == [marker]
