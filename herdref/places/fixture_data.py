"""Deterministic, realistic places around a point, in both Google response shapes.

The offline Places provider (``provider = "fixture"``) and the HTTP fixture
(``herdref places-fixture``) both answer from this module, so a herd gives the same places
whether it talks to the fixture in process or over HTTP, through either Google API.

Rules:

* Same point, same places: the generator is seeded from the point rounded to 6 decimals
  (about 11 cm), never from Python's salted ``hash``. The legacy query string
  ``34.068930,-118.445127`` and the New-API JSON numbers ``34.06893`` / ``-118.445127`` are the
  same point and give the same places.
* Every place lies inside the requested circle: its distance from the point (great circle,
  haversine) is at most 90 % of the radius. Positions scale with the radius; names, ids and
  ratings do not depend on it.
* Up to :data:`MAX_RESULTS` places (a Nearby Search page holds at most 20), in a fixed order.

Nothing here does I/O; the TypedDicts describe the JSON of both APIs at the boundary.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypedDict

__all__ = [
    "EARTH_RADIUS_M",
    "MAX_RESULTS",
    "NEW_PLACE_FIELDS",
    "FixturePlace",
    "LegacyLatLng",
    "LegacyPlace",
    "LegacyResponse",
    "LegacyStatus",
    "NewError",
    "NewErrorBody",
    "NewLatLng",
    "NewPlace",
    "NewResponse",
    "filter_new_place",
    "generate_places",
    "haversine_m",
    "legacy_response",
    "legacy_result",
    "new_place",
    "new_response",
]

#: Mean Earth radius (IUGG), the one the haversine formula uses.
EARTH_RADIUS_M: Final = 6_371_008.8
#: A Nearby Search answer holds at most 20 places (both APIs).
MAX_RESULTS: Final = 20
#: Places lie at most this fraction of the radius from the point, so rounding their
#: coordinates for display cannot push them out of the circle.
_MAX_DISTANCE_FRACTION: Final = 0.9
_ICON_BASE: Final = "https://maps.gstatic.com/mapfiles/place_api/icons"

LegacyStatus = Literal[
    "OK", "ZERO_RESULTS", "INVALID_REQUEST", "OVER_QUERY_LIMIT", "REQUEST_DENIED", "UNKNOWN_ERROR"
]


# ---- JSON shapes -------------------------------------------------------------------------


class LegacyLatLng(TypedDict):
    lat: float
    lng: float


class LegacyViewport(TypedDict):
    northeast: LegacyLatLng
    southwest: LegacyLatLng


class LegacyGeometry(TypedDict, total=False):
    location: LegacyLatLng
    viewport: LegacyViewport


class LegacyOpeningHours(TypedDict):
    open_now: bool


class LegacyPlusCode(TypedDict, total=False):
    compound_code: str
    global_code: str


class LegacyPlace(TypedDict, total=False):
    """One result of Nearby Search (Legacy): ``Place.yml`` of googlemaps/openapi-specification."""

    business_status: str
    geometry: LegacyGeometry
    icon: str
    icon_background_color: str
    icon_mask_base_uri: str
    name: str
    opening_hours: LegacyOpeningHours
    place_id: str
    plus_code: LegacyPlusCode
    price_level: int
    rating: float
    reference: str
    scope: str
    types: list[str]
    user_ratings_total: int
    vicinity: str


class LegacyResponse(TypedDict, total=False):
    html_attributions: list[str]
    results: list[LegacyPlace]
    status: LegacyStatus
    error_message: str
    info_messages: list[str]
    next_page_token: str


class NewLatLng(TypedDict):
    latitude: float
    longitude: float


class NewViewport(TypedDict):
    low: NewLatLng
    high: NewLatLng


class NewLocalizedText(TypedDict):
    text: str
    languageCode: str


class NewOpeningHours(TypedDict, total=False):
    openNow: bool


class NewPlusCode(TypedDict, total=False):
    globalCode: str
    compoundCode: str


class NewPlace(TypedDict, total=False):
    """One place of Nearby Search (New): only the fields named in the field mask are present."""

    name: str
    id: str
    displayName: NewLocalizedText
    types: list[str]
    primaryType: str
    formattedAddress: str
    shortFormattedAddress: str
    location: NewLatLng
    viewport: NewViewport
    rating: float
    userRatingCount: int
    businessStatus: str
    priceLevel: str
    currentOpeningHours: NewOpeningHours
    plusCode: NewPlusCode
    iconMaskBaseUri: str
    iconBackgroundColor: str
    googleMapsUri: str


class NewResponse(TypedDict, total=False):
    """proto3 JSON leaves an empty list out, so no match is ``{}``."""

    places: list[NewPlace]


class NewError(TypedDict, total=False):
    code: int
    message: str
    status: str


class NewErrorBody(TypedDict):
    """Google's API error model: a non-2xx answer carries ``{"error": {...}}``."""

    error: NewError


#: Every top-level field of the Places API (New) ``Place`` resource, so the HTTP fixture can
#: reject a field mask naming an unknown field the way Google does.
_NEW_PLACE_FIELD_NAMES: Final = """
    accessibilityOptions addressComponents addressDescriptor adrFormatAddress allowsDogs
    areaSummary attributions businessStatus containingPlaces curbsidePickup currentOpeningHours
    currentSecondaryOpeningHours delivery dineIn displayName editorialSummary evChargeAmenitySummary
    evChargeOptions formattedAddress fuelOptions generativeSummary goodForChildren goodForGroups
    goodForWatchingSports googleMapsLinks googleMapsUri iconBackgroundColor iconMaskBaseUri id
    internationalPhoneNumber liveMusic location menuForChildren movedPlace movedPlaceId name
    nationalPhoneNumber neighborhoodSummary outdoorSeating parkingOptions paymentOptions photos
    plusCode postalAddress priceLevel priceRange primaryType primaryTypeDisplayName
    pureServiceAreaBusiness rating regularOpeningHours regularSecondaryOpeningHours reservable
    restroom reviewSummary reviews servesBeer servesBreakfast servesBrunch servesCocktails
    servesCoffee servesDessert servesDinner servesLunch servesVegetarianFood servesWine
    shortFormattedAddress subDestinations takeout timeZone types userRatingCount utcOffsetMinutes
    viewport websiteUri
"""
NEW_PLACE_FIELDS: Final = frozenset(_NEW_PLACE_FIELD_NAMES.split())

_NEW_PRICE_LEVELS: Final = (
    "PRICE_LEVEL_FREE",
    "PRICE_LEVEL_INEXPENSIVE",
    "PRICE_LEVEL_MODERATE",
    "PRICE_LEVEL_EXPENSIVE",
    "PRICE_LEVEL_VERY_EXPENSIVE",
)


# ---- what kinds of place exist ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kind:
    primary_type: str
    legacy_types: tuple[str, ...]
    nouns: tuple[str, ...]
    icon: str
    background: str
    priced: bool


_KINDS: Final = (
    _Kind("cafe", ("cafe", "food"), ("Coffee House", "Espresso Bar", "Cafe"), "cafe", "#FF9E67", True),
    _Kind("restaurant", ("restaurant", "food"), ("Kitchen", "Grill", "Bistro"), "restaurant", "#FF9E67",
          True),
    _Kind("bakery", ("bakery", "food", "store"), ("Bakery", "Bread Co."), "bakery", "#FF9E67", True),
    _Kind("bar", ("bar",), ("Tavern", "Taproom"), "bar", "#FF9E67", True),
    _Kind("library", ("library",), ("Library", "Reading Room"), "civic-bldg", "#7B9EB0", False),
    _Kind("park", ("park",), ("Park", "Gardens", "Green"), "tree", "#4DB546", False),
    _Kind("pharmacy", ("pharmacy", "health", "store"), ("Pharmacy", "Drug Store"), "pharmacy", "#F88181",
          False),
    _Kind("book_store", ("book_store", "store"), ("Books", "Bookshop"), "shopping", "#4B96F3", False),
    _Kind("gym", ("gym", "health"), ("Fitness", "Athletic Club"), "generic_business", "#7B9EB0", False),
    _Kind("supermarket", ("supermarket", "grocery_or_supermarket", "food", "store"), ("Market",), "shopping",
          "#4B96F3", False),
    _Kind("museum", ("museum", "tourist_attraction"), ("Museum", "Gallery"), "museum", "#13B5C7", False),
)  # fmt: skip
_PREFIXES: Final = (
    "Bruin", "Sunset", "Westwood", "Royce", "Olive", "Harbor", "Maple", "Granite", "Juniper", "Canyon",
    "Pacific", "Cedar", "Lantern", "Willow", "Summit", "Meridian", "Orchard", "Copper", "Bluebird", "Mesa",
)  # fmt: skip
_STREETS: Final = (
    "Main Street", "Oak Avenue", "Park Boulevard", "Elm Street", "Lake Drive", "Hill Road",
    "Market Street", "Mission Street", "Center Street", "Pine Avenue", "Sunset Boulevard", "Broadway",
)  # fmt: skip
_TOWNS: Final = (
    "Fairview",
    "Riverside",
    "Greenville",
    "Franklin",
    "Georgetown",
    "Salem",
    "Madison",
    "Ashland",
)


@dataclass(frozen=True, slots=True)
class FixturePlace:
    """One generated place, independent of the API that will show it."""

    place_id: str
    name: str
    kind: _Kind
    latitude: float
    longitude: float
    street_address: str
    town: str
    rating: float
    user_ratings_total: int
    open_now: bool
    #: 0..4 as in the legacy API, or None when the place has no price level.
    price_level: int | None


# ---- geometry ----------------------------------------------------------------------------


def haversine_m(latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi_a, phi_b = math.radians(latitude_a), math.radians(latitude_b)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(longitude_b - longitude_a)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _destination(latitude: float, longitude: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from the start along the great circle at ``bearing`` radians."""
    delta = distance_m / EARTH_RADIUS_M
    phi = math.radians(latitude)
    lam = math.radians(longitude)
    sin_phi2 = math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(bearing)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * sin_phi2
    )
    longitude2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), longitude2


def _displayed(
    latitude: float, longitude: float, place_latitude: float, place_longitude: float, radius_m: float
) -> tuple[float, float]:
    """Google shows 7 decimals; keep full precision only if rounding would leave the circle."""
    rounded = round(place_latitude, 7), round(place_longitude, 7)
    if haversine_m(latitude, longitude, *rounded) <= radius_m:
        return rounded
    return place_latitude, place_longitude


# ---- the generator -----------------------------------------------------------------------


def _seed(latitude: float, longitude: float) -> int:
    point = f"{latitude:.6f},{longitude:.6f}".encode("ascii")
    return int.from_bytes(hashlib.sha256(point).digest()[:8], "big")


def _place_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "ChIJ" + "".join(rng.choice(alphabet) for _ in range(23))


def generate_places(
    latitude: float, longitude: float, radius_m: float, *, count: int = MAX_RESULTS
) -> list[FixturePlace]:
    """``count`` (at most 20) places within ``radius_m`` metres of the point, always the same."""
    rng = random.Random(_seed(latitude, longitude))
    places: list[FixturePlace] = []
    for index in range(min(count, MAX_RESULTS)):
        kind = rng.choice(_KINDS)
        # sqrt: uniform over the disc's area, not bunched at the centre.
        distance = radius_m * _MAX_DISTANCE_FRACTION * math.sqrt(rng.random())
        place_latitude, place_longitude = _destination(
            latitude, longitude, rng.uniform(0, 2 * math.pi), distance
        )
        place_latitude, place_longitude = _displayed(
            latitude, longitude, place_latitude, place_longitude, radius_m
        )
        places.append(
            FixturePlace(
                place_id=_place_id(rng),
                name=f"{_PREFIXES[(index + rng.randrange(len(_PREFIXES))) % len(_PREFIXES)]} "
                f"{rng.choice(kind.nouns)}",
                kind=kind,
                latitude=place_latitude,
                longitude=place_longitude,
                street_address=f"{rng.randrange(100, 9999)} {rng.choice(_STREETS)}",
                town=rng.choice(_TOWNS),
                rating=round(rng.uniform(3.2, 4.9), 1),
                user_ratings_total=int(rng.paretovariate(1.2) * 40),
                open_now=rng.random() < 0.7,
                price_level=rng.randrange(1, 4) if kind.priced else None,
            )
        )
    # Google ranks by prominence; the number of ratings stands in for it.
    places.sort(key=lambda place: (-place.user_ratings_total, place.place_id))
    return places


def _viewport_corners(place: FixturePlace) -> tuple[tuple[float, float], tuple[float, float]]:
    span = 0.0013
    south_west = round(place.latitude - span, 7), round(place.longitude - span, 7)
    north_east = round(place.latitude + span, 7), round(place.longitude + span, 7)
    return south_west, north_east


# ---- the legacy shape --------------------------------------------------------------------


def legacy_result(place: FixturePlace) -> LegacyPlace:
    """A Nearby Search (Legacy) result, keys in Google's (alphabetical) order."""
    (south, west), (north, east) = _viewport_corners(place)
    result: LegacyPlace = {
        "business_status": "OPERATIONAL",
        "geometry": {
            "location": {"lat": place.latitude, "lng": place.longitude},
            "viewport": {"northeast": {"lat": north, "lng": east}, "southwest": {"lat": south, "lng": west}},
        },
        "icon": f"{_ICON_BASE}/v1/png_71/{place.kind.icon}-71.png",
        "icon_background_color": place.kind.background,
        "icon_mask_base_uri": f"{_ICON_BASE}/v2/{place.kind.icon}_pinlet",
        "name": place.name,
        "opening_hours": {"open_now": place.open_now},
        "place_id": place.place_id,
    }
    if place.price_level is not None:
        result["price_level"] = place.price_level
    result["rating"] = place.rating
    result["reference"] = place.place_id
    result["scope"] = "GOOGLE"
    result["types"] = [*place.kind.legacy_types, "point_of_interest", "establishment"]
    result["user_ratings_total"] = place.user_ratings_total
    result["vicinity"] = f"{place.street_address}, {place.town}"
    return result


def legacy_response(places: Sequence[FixturePlace]) -> LegacyResponse:
    """The legacy envelope: ``OK`` with results, ``ZERO_RESULTS`` without."""
    return {
        "html_attributions": [],
        "results": [legacy_result(place) for place in places],
        "status": "OK" if places else "ZERO_RESULTS",
    }


# ---- the New-API shape -------------------------------------------------------------------


def _cid(place_id: str) -> int:
    """A stable decimal customer id for the Maps URL, as Google's URLs carry."""
    return int(hashlib.sha256(place_id.encode("ascii")).hexdigest()[:15], 16)


def new_place(place: FixturePlace) -> NewPlace:
    """A Nearby Search (New) place with every field the fixture knows."""
    (south, west), (north, east) = _viewport_corners(place)
    result: NewPlace = {
        "name": f"places/{place.place_id}",
        "id": place.place_id,
        "types": [*place.kind.legacy_types, "point_of_interest", "establishment"],
        "formattedAddress": f"{place.street_address}, {place.town}",
        "location": {"latitude": place.latitude, "longitude": place.longitude},
        "viewport": {
            "low": {"latitude": south, "longitude": west},
            "high": {"latitude": north, "longitude": east},
        },
        "rating": place.rating,
        "googleMapsUri": f"https://maps.google.com/?cid={_cid(place.place_id)}",
        "businessStatus": "OPERATIONAL",
        "userRatingCount": place.user_ratings_total,
        "iconMaskBaseUri": f"{_ICON_BASE}/v2/{place.kind.icon}_pinlet",
        "iconBackgroundColor": place.kind.background,
        "displayName": {"text": place.name, "languageCode": "en"},
        "primaryType": place.kind.primary_type,
        "shortFormattedAddress": f"{place.street_address}, {place.town}",
        "currentOpeningHours": {"openNow": place.open_now},
    }
    if place.price_level is not None:
        result["priceLevel"] = _NEW_PRICE_LEVELS[place.price_level]
    return result


def filter_new_place(place: NewPlace, fields: Iterable[str] | None) -> NewPlace:
    """Only the top-level fields named (``None`` means every field, the ``*`` mask)."""
    if fields is None:
        return place
    wanted = set(fields)
    filtered: NewPlace = {}
    for key, value in place.items():
        if key in wanted:
            filtered[key] = value  # type: ignore[literal-required]
    return filtered


def new_response(places: Sequence[FixturePlace], fields: Iterable[str] | None = None) -> NewResponse:
    """``{"places": [...]}``, or ``{}`` when nothing matched (proto3 JSON omits empty lists)."""
    if not places:
        return {}
    wanted = None if fields is None else frozenset(fields)
    return {"places": [filter_new_place(new_place(place), wanted) for place in places]}
