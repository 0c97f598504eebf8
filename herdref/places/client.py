"""Places for WHATSAT: ask Google's Nearby Search (either API) or the offline fixture, and turn
the answer into the JSON body of the reply.

Providers (PLACES-1), chosen by ``[places] provider``:

* ``legacy``: ``GET {base}/maps/api/place/nearbysearch/json?location=LAT,LNG&radius=M&key=K``;
* ``new``: ``POST {base}/v1/places:searchNearby`` with ``X-Goog-Api-Key`` and
  ``X-Goog-FieldMask``; ``shape = "legacy"`` wraps the places in the legacy envelope,
  ``shape = "native"`` passes Google's ``{"places": [...]}`` through;
* ``fixture``: deterministic places generated in process (no network), in either shape;
* ``auto``: ``new`` when an API key is configured, else ``fixture``.

Rules:

* PLACES-2: the radius goes to Google in metres, computed exactly (``km * 1000`` in decimal);
  the location as plain decimals with no ``+`` (in a query string ``+`` means a space).
* PLACES-3: a JSON object from Google is passed through whatever its status (legacy error
  statuses, New-API error bodies), its ``results`` (legacy) or ``places`` (native) cut to the
  WHATSAT bound, and re-serialised in Google's legacy layout with every run of newlines
  squeezed to one and no trailing newline (WHATSAT-6). In the legacy shape a New-API error
  becomes the legacy status that means the same thing.
* PLACES-4: bound 0 makes no call; the answer is the empty result of the configured shape.
* PLACES-5: a transport failure, a timeout, an HTTP error without a JSON object body, a body
  that is not JSON, JSON that is not an object, or a New-API ``places`` that is not a list of
  objects raises :class:`PlacesError`; the server then answers ``? <line>``.
* PLACES-6: the API key comes from the environment or a file, never the command line, and
  never appears in a log line, a reply, an exception message or a repr.
* PLACES-7: one HTTP session per server, created on first use; at most ``max_concurrent``
  requests in flight (a request waits at most ``timeout_s`` for a free slot, then has its own
  ``timeout_s``); identical requests in flight share one HTTP call (legacy: whatever their
  bounds, as the bound is not sent); an optional cache of ``cache_ttl_s`` seconds for answers
  that are not errors. A shared or cached answer is still cut to each request's own bound.

Exceptions: :class:`PlacesError` is the only one that leaves :meth:`PlacesClient.nearby`.

aiohttp is imported only when the first HTTP request is made, so a server using the fixture
never loads it and starts listening fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from decimal import Context, Decimal
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, cast
from urllib.parse import quote, urlencode, urlsplit

from herdref.herd.config import ConfigError, PlacesSettings, PlacesShape
from herdref.herd.node import PlacesLookup

if TYPE_CHECKING:
    import aiohttp

    from herdref.places.fixture_data import LegacyPlace, LegacyResponse, LegacyStatus

__all__ = [
    "DEFAULT_BASE_URLS",
    "FIELD_MASK",
    "FIELD_MASK_FIELDS",
    "ApiKey",
    "FixturePlacesClient",
    "LegacyPlacesClient",
    "NewPlacesClient",
    "PlacesClient",
    "PlacesError",
    "legacy_from_new",
    "legacy_request_url",
    "load_api_key",
    "make_places_client",
    "new_request_body",
    "radius_metres",
    "render_json",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URLS: Final[Mapping[str, str]] = {
    "legacy": "https://maps.googleapis.com",
    "new": "https://places.googleapis.com",
}
LEGACY_PATH: Final = "/maps/api/place/nearbysearch/json"
NEW_PATH: Final = "/v1/places:searchNearby"

#: The Place fields asked of Nearby Search (New): the ones a legacy Nearby Search result
#: carries (see :func:`legacy_from_new`). rating, userRatingCount, priceLevel and
#: currentOpeningHours put the request in Google's "Enterprise" billing tier; they are what the
#: legacy API returned, which WHATSAT clients expect.
FIELD_MASK_FIELDS: Final = (
    "id",
    "displayName",
    "location",
    "viewport",
    "shortFormattedAddress",
    "formattedAddress",
    "types",
    "businessStatus",
    "rating",
    "userRatingCount",
    "priceLevel",
    "currentOpeningHours",
    "plusCode",
    "iconBackgroundColor",
    "iconMaskBaseUri",
)
FIELD_MASK: Final = ",".join(
    f"places.{field}.openNow" if field == "currentOpeningHours" else f"places.{field}"
    for field in FIELD_MASK_FIELDS
)

_REDACTED: Final = "<redacted>"
_CACHE_MAX_ENTRIES: Final = 10_000
#: LIMIT-6: Google's answer is read in chunks of this size, and parsed on the event loop only up
#: to this size (a 20-place answer is 10-60 KB); a larger one is parsed in a worker thread.
_READ_CHUNK_BYTES: Final = 65_536
_PARSE_ON_LOOP_MAX_BYTES: Final = 131_072
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

JsonObject = dict[str, Any]


class PlacesError(Exception):
    """Places gave no usable answer (PLACES-5). The message never holds the API key."""


class PlacesClient(Protocol):
    """What the server needs from a Places provider."""

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        """The JSON body of the WHATSAT reply: cut to the bound, newlines squeezed, no trailing
        newline (WHATSAT-6).

        Raises:
            PlacesError: no usable answer (PLACES-5).
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP session, if any."""
        ...


# ---- the API key (PLACES-6) --------------------------------------------------------------


class ApiKey:
    """The API key, kept out of reprs and strings; :meth:`redact` scrubs it from text."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def reveal(self) -> str:
        """The key itself, for the one place it must go: the request to Google."""
        return self._secret

    def redact(self, text: str) -> str:
        """``text`` with the key (as is, and as it looks URL-encoded) replaced."""
        for form in {self._secret, quote(self._secret, safe=""), quote(self._secret)}:
            text = text.replace(form, _REDACTED)
        return text

    def __repr__(self) -> str:
        return f"ApiKey({_REDACTED})"

    __str__ = __repr__


def load_api_key(settings: PlacesSettings, environ: Mapping[str, str] | None = None) -> ApiKey | None:
    """The key from ``api_key_file`` when one is configured, else from the environment
    variable ``api_key_env``; None when neither holds one.

    Raises:
        ConfigError: the key file cannot be read.
    """
    environ = os.environ if environ is None else environ
    if settings.api_key_file is not None:
        try:
            secret = Path(settings.api_key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"cannot read places.api_key_file {settings.api_key_file}: {reason}") from None
    else:
        secret = environ.get(settings.api_key_env, "").strip()
    return ApiKey(secret) if secret else None


def _redact_strings(value: Any, key: ApiKey) -> Any:
    """``value`` (parsed JSON) with the key scrubbed from every string, keys included."""
    if isinstance(value, str):
        return key.redact(value)
    if isinstance(value, list):
        return [_redact_strings(item, key) for item in value]
    if isinstance(value, dict):
        return {key.redact(name): _redact_strings(item, key) for name, item in value.items()}
    return value


# ---- building requests (PLACES-2) --------------------------------------------------------


def radius_metres(radius_km: bytes) -> Decimal:
    """The WHATSAT radius in metres, exactly (``b"10.5"`` gives ``Decimal("10500")``)."""
    kilometres = Decimal(radius_km.decode("ascii"))
    # A context wide enough that shifting the decimal point never rounds.
    metres = kilometres.scaleb(3, context=Context(prec=len(radius_km) + 8))
    return metres.normalize(context=Context(prec=len(radius_km) + 8))


def _metres_text(metres: Decimal) -> str:
    """An integer when the radius is whole (``10000``), else plain decimals (``10.5``)."""
    if metres == metres.to_integral_value():
        return str(int(metres))
    return format(metres, "f")


def _metres_number(metres: Decimal) -> int | float:
    return int(metres) if metres == metres.to_integral_value() else float(metres)


def legacy_request_url(base_url: str, lookup: PlacesLookup, key: ApiKey | None) -> str:
    """The Nearby Search (Legacy) URL, fully percent-encoded (``,`` as ``%2C``, ``+`` as ``%2B``).
    Without a key the ``key`` parameter is left out (Google then answers REQUEST_DENIED)."""
    params = {
        "location": f"{lookup.latitude},{lookup.longitude}",
        "radius": _metres_text(radius_metres(lookup.radius_km)),
    }
    if key is not None:
        params["key"] = key.reveal()
    return f"{base_url.rstrip('/')}{LEGACY_PATH}?{urlencode(params, quote_via=quote, safe='')}"


def new_request_body(lookup: PlacesLookup) -> JsonObject:
    """The Nearby Search (New) request body: a circle in metres, at most ``bound`` places."""
    return {
        "locationRestriction": {
            "circle": {
                "center": {"latitude": float(lookup.latitude), "longitude": float(lookup.longitude)},
                "radius": _metres_number(radius_metres(lookup.radius_km)),
            }
        },
        "maxResultCount": lookup.bound,
    }


# ---- shaping answers (PLACES-3, WHATSAT-6) ----------------------------------------------


class _Rendered(str):
    """A JSON value already rendered as an item of a top-level list (at ``_ITEM_NEWLINE``)."""

    __slots__ = ()


def _write_json(value: Any, newline: str, out: list[str]) -> None:
    """Append ``value`` in Google's legacy layout: the same text as ``json.dumps(value,
    indent=3, separators=(",", " : "), ensure_ascii=False)``, twice as fast (with an indent,
    json.dumps falls back to its pure-Python encoder). ``newline`` is LF plus the current indent.
    """
    if isinstance(value, _Rendered):
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


def _cut(document: JsonObject, list_key: str, bound: int) -> JsonObject:
    items = document.get(list_key)
    if isinstance(items, list) and len(items) > bound:
        return {**document, list_key: items[:bound]}
    return document


def _empty_answer(shape: PlacesShape) -> JsonObject:
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


def _new_places(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
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
    places = _new_places(document)
    results = [_legacy_from_new_place(place) for place in places[:bound]]
    return {"html_attributions": [], "results": results, "status": "OK" if results else "ZERO_RESULTS"}


# ---- the offline provider ----------------------------------------------------------------


def _rendered_item(value: Any) -> _Rendered:
    out: list[str] = []
    _write_json(value, _ITEM_NEWLINE, out)
    return _Rendered("".join(out))


@functools.lru_cache(maxsize=1024)
def _fixture_items(
    latitude: str, longitude: str, radius_km: bytes, shape: PlacesShape
) -> tuple[_Rendered, ...]:
    """The 20 places around a point, each rendered once: a WHATSAT then only joins the first
    ``bound`` of them (the fixture answers thousands of WHATSATs a second)."""
    # Imported at the first look-up, not at start-up: its TypedDicts cost milliseconds to build,
    # and a server must listen within half a second of starting.
    from herdref.places.fixture_data import MAX_RESULTS, generate_places, legacy_response, new_response

    radius_m = float(radius_metres(radius_km))
    places = generate_places(float(latitude), float(longitude), radius_m, count=MAX_RESULTS)
    if shape == "native":
        return tuple(
            _rendered_item(place) for place in new_response(places, FIELD_MASK_FIELDS).get("places", [])
        )
    return tuple(_rendered_item(result) for result in legacy_response(places)["results"])


class FixturePlacesClient:
    """Deterministic places generated in process (``provider = "fixture"``): no network."""

    def __init__(self, *, shape: PlacesShape = "legacy") -> None:
        self.shape: PlacesShape = shape

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        if lookup.bound == 0:
            return render_json(_empty_answer(self.shape))
        # The first ``bound`` of the same 20 places, as Google cuts one ranked list.
        items = list(
            _fixture_items(lookup.latitude, lookup.longitude, lookup.radius_km, self.shape)[: lookup.bound]
        )
        if self.shape == "native":
            return render_json({"places": items} if items else {})
        status = "OK" if items else "ZERO_RESULTS"
        return render_json({"html_attributions": [], "results": items, "status": status})

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"FixturePlacesClient(shape={self.shape!r})"


# ---- the HTTP providers (PLACES-7) ------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Call:
    """One HTTP request to Google. ``shared_by`` is what identical requests have in common."""

    method: str
    url: str
    #: The URL as it may be logged (PLACES-6).
    shown_url: str
    headers: Mapping[str, str]
    body: bytes | None
    shared_by: tuple[object, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Answer:
    http_status: int
    document: JsonObject


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


class _HttpPlacesClient:
    """What both Google providers share: the session, the cap, coalescing and the cache."""

    label = "Places"

    def __init__(
        self,
        *,
        base_url: str,
        key: ApiKey | None,
        settings: PlacesSettings,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._settings = settings
        self._user_agent = f"herdref/0.1 ({name})"
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(max(1, settings.max_concurrent))
        self._in_flight: dict[tuple[object, ...], asyncio.Task[_Answer]] = {}
        self._cache: dict[tuple[object, ...], tuple[float, _Answer]] = {}
        #: HTTP requests sent so far (for tests and the benchmark).
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, key={self._key!r})"

    # -- the provider-specific parts --

    def _call(self, lookup: PlacesLookup) -> _Call:
        raise NotImplementedError

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        raise NotImplementedError

    def _cacheable(self, answer: _Answer) -> bool:
        return 200 <= answer.http_status < 300

    def _empty(self) -> JsonObject:
        return _empty_answer("legacy")

    # -- the shared parts --

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        if lookup.bound == 0:
            return render_json(self._empty())
        call = self._call(lookup)
        answer = self._cached(call.shared_by)
        if answer is None:
            task = self._in_flight.get(call.shared_by)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._fetch_and_remember(call))
                self._in_flight[call.shared_by] = task
                task.add_done_callback(functools.partial(self._forget, call.shared_by))
            # shield: one waiter giving up (its client left) must not cancel the others' call.
            answer = await asyncio.shield(task)
        return render_json(self._shape(answer, lookup))

    async def aclose(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _cached(self, shared_by: tuple[object, ...]) -> _Answer | None:
        if self._settings.cache_ttl_s <= 0:
            return None
        entry = self._cache.get(shared_by)
        if entry is None:
            return None
        expires_at, answer = entry
        if self._clock() >= expires_at:
            del self._cache[shared_by]
            return None
        return answer

    def _remember(self, shared_by: tuple[object, ...], answer: _Answer) -> None:
        now = self._clock()
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            for stale in [key for key, (expires_at, _) in self._cache.items() if expires_at <= now]:
                del self._cache[stale]
            while len(self._cache) >= _CACHE_MAX_ENTRIES:
                del self._cache[next(iter(self._cache))]
        self._cache[shared_by] = (now + self._settings.cache_ttl_s, answer)

    def _forget(self, shared_by: tuple[object, ...], task: asyncio.Task[_Answer]) -> None:
        if self._in_flight.get(shared_by) is task:
            del self._in_flight[shared_by]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have left before it failed

    async def _fetch_and_remember(self, call: _Call) -> _Answer:
        answer = await self._fetch(call)
        if self._settings.cache_ttl_s > 0 and self._cacheable(answer):
            self._remember(call.shared_by, answer)
        return answer

    def _session_in_use(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self._settings.timeout_s, connect=self._settings.connect_timeout_s
                ),
                connector=aiohttp.TCPConnector(limit=max(1, self._settings.max_concurrent)),
                headers={"User-Agent": self._user_agent},
            )
        return self._session

    def _redact(self, text: str) -> str:
        return self._key.redact(text) if self._key is not None else text

    async def _fetch(self, call: _Call) -> _Answer:
        """Send ``call``; any failure becomes a :class:`PlacesError` (PLACES-5)."""
        import aiohttp
        from yarl import URL

        session = self._session_in_use()
        try:
            # PLACES-7: a request waits for a free slot at most timeout_s, so a hung Google
            # cannot queue WHATSATs without end behind max_concurrent stuck requests.
            async with asyncio.timeout(self._settings.timeout_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise PlacesError(
                f"{self.label}: {self._settings.max_concurrent} requests in flight and none finished "
                f"within {self._settings.timeout_s:g} s"
            ) from None
        try:
            logger.debug("%s %s", call.method, call.shown_url)
            self.requests_sent += 1
            try:
                async with session.request(
                    call.method, URL(call.url, encoded=True), headers=call.headers, data=call.body
                ) as response:
                    http_status = response.status
                    content = await self._read_bounded(response)
            except TimeoutError:
                # PLACES-6: no chained cause below; aiohttp's exceptions may carry the URL (key).
                raise PlacesError(
                    f"{self.label} {call.shown_url}: no answer within {self._settings.timeout_s:g} s"
                ) from None
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                raise PlacesError(
                    f"{self.label} {call.shown_url}: {type(exc).__name__}: {self._redact(str(exc))}"
                ) from None
        finally:
            self._semaphore.release()
        if len(content) > _PARSE_ON_LOOP_MAX_BYTES:
            # A large answer is parsed in a worker thread: the loop goes on serving meanwhile.
            document = await asyncio.to_thread(self._parse, content, http_status, call.shown_url)
        else:
            document = self._parse(content, http_status, call.shown_url)
        return _Answer(http_status, document)

    async def _read_bounded(self, response: aiohttp.ClientResponse) -> bytes:
        """LIMIT-6: the body, read in chunks and never past ``max_response_bytes``."""
        limit = self._settings.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ValueError(f"the answer is {response.content_length} octets, over the limit of {limit}")
        chunks: list[bytes] = []
        size = 0
        while chunk := await response.content.read(_READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"the answer is over the limit of {limit} octets")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, content: bytes, http_status: int, shown_url: str) -> JsonObject:
        try:
            document = json.loads(content, parse_constant=_reject_constant)
        except ValueError:
            raise PlacesError(
                f"{self.label} {shown_url}: HTTP {http_status} with a body that is not JSON"
            ) from None
        if not isinstance(document, dict):
            raise PlacesError(f"{self.label} {shown_url}: HTTP {http_status} with JSON that is not an object")
        if self._key is not None:
            document = _redact_strings(document, self._key)
        return cast("JsonObject", document)


class LegacyPlacesClient(_HttpPlacesClient):
    """Nearby Search (Legacy): ``GET .../nearbysearch/json``; errors are statuses in the body."""

    label = "Nearby Search (Legacy)"

    def _call(self, lookup: PlacesLookup) -> _Call:
        url = legacy_request_url(self.base_url, lookup, self._key)
        # The bound is not part of a legacy request (Google has no count parameter): requests
        # that differ only in bound share one call and each is cut to its own bound.
        shared_by = (lookup.latitude, lookup.longitude, radius_metres(lookup.radius_km))
        return _Call("GET", url, self._redact(url), {}, None, shared_by)

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        return _cut(answer.document, "results", lookup.bound)

    def _cacheable(self, answer: _Answer) -> bool:
        return answer.http_status == 200 and answer.document.get("status") in ("OK", "ZERO_RESULTS")


class NewPlacesClient(_HttpPlacesClient):
    """Nearby Search (New): ``POST /v1/places:searchNearby``; errors are HTTP codes."""

    label = "Nearby Search (New)"

    def __init__(self, *, shape: PlacesShape = "legacy", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape: PlacesShape = shape

    def _call(self, lookup: PlacesLookup) -> _Call:
        body = new_request_body(lookup)
        headers = {"Content-Type": "application/json", "X-Goog-FieldMask": FIELD_MASK}
        if self._key is not None:
            headers["X-Goog-Api-Key"] = self._key.reveal()
        url = f"{self.base_url}{NEW_PATH}"
        # maxResultCount is part of the request, so the bound is part of what is shared.
        shared_by = (lookup.latitude, lookup.longitude, radius_metres(lookup.radius_km), lookup.bound)
        return _Call("POST", url, url, headers, json.dumps(body).encode("ascii"), shared_by)

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        if self.shape == "native":
            if 200 <= answer.http_status < 300:
                _new_places(answer.document)  # PLACES-5: checked even when passed through
            return _cut(answer.document, "places", lookup.bound)
        return dict(legacy_from_new(answer.http_status, answer.document, lookup.bound))

    def _empty(self) -> JsonObject:
        return _empty_answer(self.shape)


# ---- choosing a provider (PLACES-1) -----------------------------------------------------


def _checked_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"places base URL {base_url!r} is not an http(s) URL with a host")
    return base_url.rstrip("/")


def make_places_client(
    settings: PlacesSettings,
    *,
    name: str,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PlacesClient:
    """The provider ``settings`` ask for (PLACES-1); ``name`` is the server, for the User-Agent.

    Raises:
        ConfigError: the key file cannot be read, or the base URL is not an http(s) URL.
    """
    key = load_api_key(settings, environ)
    provider = settings.provider
    if provider == "auto":
        provider = "new" if key is not None else "fixture"
    if provider == "fixture":
        return FixturePlacesClient(shape=settings.shape)
    base_url = _checked_base_url(settings.base_url or DEFAULT_BASE_URLS[provider])
    if key is None:
        source = settings.api_key_file or f"${settings.api_key_env}"
        logger.warning("no Places API key in %s: Google will answer REQUEST_DENIED", source)
    if provider == "legacy":
        return LegacyPlacesClient(base_url=base_url, key=key, settings=settings, name=name, clock=clock)
    return NewPlacesClient(
        shape=settings.shape, base_url=base_url, key=key, settings=settings, name=name, clock=clock
    )
