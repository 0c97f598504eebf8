"""Shaping Google's answers into the JSON body of a WHATSAT reply (PLACES-3, PLACES-4,
WHATSAT-6).

* PLACES-3: a JSON object from Google is passed through whatever its status, its ``results``
  (legacy) or ``places`` (native) cut to the WHATSAT bound, and re-serialised in Google's
  legacy layout with no empty line and no trailing newline (WHATSAT-6). In the legacy shape a
  New-API answer, error bodies included, becomes the legacy envelope that means the same.
* PLACES-4: bound 0 makes no call; the answer is the empty result of the configured shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, Final

from herdref.places.request import JsonObject, PlacesError

if TYPE_CHECKING:
    from herdref.herd.config import PlacesShape
    from herdref.places.fixture_data import LegacyPlace, LegacyResponse, LegacyStatus

__all__ = [
    "Rendered",
    "cut_to_bound",
    "empty_answer",
    "legacy_from_new",
    "new_places",
    "render_json",
    "rendered_item",
]

#: Google's legacy JSON layout: three-space indent, " : " between key and value.
_JSON_INDENT: Final = "   "
#: Where the items of a top-level list (``results``, ``places``) start: two indents deep.
_ITEM_NEWLINE: Final = "\n" + _JSON_INDENT * 2

_LEGACY_STATUS_OF_GOOGLE_ERROR: Final[Mapping[str, LegacyStatus]] = {
    "INVALID_ARGUMENT": "INVALID_REQUEST",
    "FAILED_PRECONDITION": "INVALID_REQUEST",
    "OUT_OF_RANGE": "INVALID_REQUEST",
    "NOT_FOUND": "INVALID_REQUEST",
    "PERMISSION_DENIED": "REQUEST_DENIED",
    "UNAUTHENTICATED": "REQUEST_DENIED",
    "RESOURCE_EXHAUSTED": "OVER_QUERY_LIMIT",
}
_LEGACY_STATUS_OF_HTTP_CODE: Final[Mapping[int, LegacyStatus]] = {
    400: "INVALID_REQUEST",
    401: "REQUEST_DENIED",
    403: "REQUEST_DENIED",
    404: "INVALID_REQUEST",
    429: "OVER_QUERY_LIMIT",
}
_LEGACY_PRICE_LEVELS: Final[Mapping[str, int]] = {
    "PRICE_LEVEL_FREE": 0,
    "PRICE_LEVEL_INEXPENSIVE": 1,
    "PRICE_LEVEL_MODERATE": 2,
    "PRICE_LEVEL_EXPENSIVE": 3,
    "PRICE_LEVEL_VERY_EXPENSIVE": 4,
}


class Rendered(str):
    """A JSON value already rendered as an item of a top-level list (at ``_ITEM_NEWLINE``)."""

    __slots__ = ()


def _write_json(value: Any, newline: str, out: list[str]) -> None:
    """Append ``value`` in Google's legacy layout: the same text as ``json.dumps(value,
    indent=3, separators=(",", " : "), ensure_ascii=False)``, twice as fast (with an indent,
    json.dumps falls back to its pure-Python encoder). ``newline`` is LF plus the current indent.
    """
    if isinstance(value, Rendered):
        out.append(value)
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + _JSON_INDENT
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            out.append(separator)
            out.append(encode_basestring(key))
            out.append(" : ")
            _write_json(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + _JSON_INDENT
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write_json(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float) and math.isfinite(value):
        out.append(float.__repr__(value))
    else:
        raise TypeError(f"cannot render {value!r} as JSON")


def render_json(document: Mapping[str, Any]) -> bytes:
    """Google's legacy layout, runs of newlines squeezed to one, no trailing newline."""
    out: list[str] = []
    _write_json(document, "\n", out)
    text = "".join(out)
    # WHATSAT-6: strings are written with their newlines escaped, so every LF here is layout;
    # the squeeze is still done so that no JSON body can ever hold an empty line.
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    # A lone surrogate (which json.loads accepts) goes back out as its JSON escape.
    return text.rstrip("\n").encode("utf-8", "backslashreplace")


def cut_to_bound(document: JsonObject, list_key: str, bound: int) -> JsonObject:
    items = document.get(list_key)
    if isinstance(items, list) and len(items) > bound:
        return {**document, list_key: items[:bound]}
    return document


def empty_answer(shape: PlacesShape) -> JsonObject:
    # PLACES-4: bound 0 needs no call; the empty answer of each shape.
    if shape == "native":
        return {"places": []}
    return {"html_attributions": [], "results": [], "status": "OK"}


def _legacy_from_new_place(place: Mapping[str, Any]) -> LegacyPlace:
    """One New-API place as a legacy result. proto3 JSON omits zero values, so a missing
    coordinate is 0 and a missing ``openNow`` is false."""
    result: LegacyPlace = {}
    if "businessStatus" in place:
        result["business_status"] = place["businessStatus"]
    location = place.get("location")
    if isinstance(location, dict):
        result["geometry"] = {
            "location": {"lat": location.get("latitude", 0.0), "lng": location.get("longitude", 0.0)}
        }
        viewport = place.get("viewport")
        if isinstance(viewport, dict):
            low, high = viewport.get("low", {}), viewport.get("high", {})
            result["geometry"]["viewport"] = {
                "northeast": {"lat": high.get("latitude", 0.0), "lng": high.get("longitude", 0.0)},
                "southwest": {"lat": low.get("latitude", 0.0), "lng": low.get("longitude", 0.0)},
            }
    if "iconBackgroundColor" in place:
        result["icon_background_color"] = place["iconBackgroundColor"]
    if "iconMaskBaseUri" in place:
        result["icon_mask_base_uri"] = place["iconMaskBaseUri"]
    display_name = place.get("displayName")
    if isinstance(display_name, dict) and "text" in display_name:
        result["name"] = display_name["text"]
    opening_hours = place.get("currentOpeningHours")
    if isinstance(opening_hours, dict):
        result["opening_hours"] = {"open_now": bool(opening_hours.get("openNow", False))}
    if "id" in place:
        result["place_id"] = place["id"]
    plus_code = place.get("plusCode")
    if isinstance(plus_code, dict):
        result["plus_code"] = {}
        if "compoundCode" in plus_code:
            result["plus_code"]["compound_code"] = plus_code["compoundCode"]
        if "globalCode" in plus_code:
            result["plus_code"]["global_code"] = plus_code["globalCode"]
    price_level = _LEGACY_PRICE_LEVELS.get(place.get("priceLevel", ""))
    if price_level is not None:
        result["price_level"] = price_level
    if "rating" in place:
        result["rating"] = place["rating"]
    if "types" in place:
        result["types"] = place["types"]
    if "userRatingCount" in place:
        result["user_ratings_total"] = place["userRatingCount"]
    vicinity = place.get("shortFormattedAddress", place.get("formattedAddress"))
    if vicinity is not None:
        result["vicinity"] = vicinity
    return result


def new_places(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``places`` of a successful New-API answer (absent: none).

    Raises:
        PlacesError: ``places`` is not a list of objects (PLACES-5).
    """
    places = document.get("places", [])
    if not isinstance(places, list) or not all(isinstance(place, dict) for place in places):
        raise PlacesError("Nearby Search (New) answered with a 'places' that is not a list of objects")
    return places


def legacy_from_new(http_status: int, document: Mapping[str, Any], bound: int) -> LegacyResponse:
    """A Nearby Search (New) answer in the legacy envelope (``shape = "legacy"``).

    A 2xx answer becomes ``OK`` with results (``ZERO_RESULTS`` without); a Google error body
    becomes the legacy status that means the same, with Google's message as ``error_message``.

    Raises:
        PlacesError: a 2xx answer whose ``places`` is not a list of objects.
    """
    if not 200 <= http_status < 300:
        error = document.get("error")
        error = error if isinstance(error, dict) else {}
        status = _LEGACY_STATUS_OF_GOOGLE_ERROR.get(
            str(error.get("status", "")), _LEGACY_STATUS_OF_HTTP_CODE.get(http_status, "UNKNOWN_ERROR")
        )
        response: LegacyResponse = {}
        message = error.get("message")
        if isinstance(message, str):
            response["error_message"] = message
        response.update({"html_attributions": [], "results": [], "status": status})
        return response
    places = new_places(document)
    results = [_legacy_from_new_place(place) for place in places[:bound]]
    return {"html_attributions": [], "results": results, "status": "OK" if results else "ZERO_RESULTS"}


def rendered_item(value: Any) -> Rendered:
    out: list[str] = []
    _write_json(value, _ITEM_NEWLINE, out)
    return Rendered("".join(out))
