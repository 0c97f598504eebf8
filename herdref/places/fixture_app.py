"""The Places fixture's HTTP application: an offline Google Places server speaking both Nearby
Search APIs (:mod:`herdref.places.fixture` runs it and is the ``herdref places-fixture`` command).

It answers ``GET /maps/api/place/nearbysearch/json`` (Legacy) and
``POST /v1/places:searchNearby`` (New) with the same deterministic places
(:mod:`herdref.places.fixture_data`), so a herd, the checker and the tests can exercise a real HTTP
Places client without a key or a network.

Rules:

* Requests are checked the way Google checks them. Legacy: a missing or empty ``key`` is
  ``REQUEST_DENIED``; a missing or malformed ``location``, or a ``radius`` that is missing, not
  a number, ``<= 0`` or ``> 50000``, is ``INVALID_REQUEST`` (errors are HTTP 200 with a status in
  the body). New: a missing key is 403 ``PERMISSION_DENIED``; a missing field mask is 400
  ``INVALID_ARGUMENT`` "FieldMask is a required parameter"; a bad body, circle, radius or a
  ``maxResultCount`` outside 1..20 is 400 ``INVALID_ARGUMENT``.
* Every request to a Google path is recorded (method, path, query, headers, JSON body, time)
  before it is answered, a hung one included, and then with the answer it got (HTTP status and
  body), so a checker can compare what a herd passed on with what Google's stand-in said. The
  API key is never recorded: it is replaced by ``<redacted>``, and ``key_sha256`` lets a test
  check which key was sent.
* Faults, switchable at start and at run time: ``none``; ``latency`` (every answer waits
  ``latency_s``; the delay applies in every mode); ``hang`` (no answer until the fault changes
  or the fixture stops); ``http_500`` (an HTML error page); ``over_query_limit``;
  ``request_denied`` (which, unlike Google, echoes the key it was sent, so tests can prove the
  herd never passes it on: PLACES-6); ``zero_results``; ``malformed_json``; ``blank_lines`` (the
  answer as ever, with an empty line after each of its lines that ends in a comma: still JSON,
  which the course has a herd squeeze to no empty line, WHATSAT-6).
* Control endpoints, used by ``herdref validate`` and the tests: ``GET /_fixture/requests``,
  ``POST /_fixture/reset`` (clears the record and the fault), ``POST /_fixture/fault`` with
  ``{"mode": ..., "latency_s": ...}``. ``GET /`` lists the endpoints.
* Requests are read the way Google reads them (cause of vacuous passes otherwise): a raw ``+``
  in ``location`` (a space once decoded) is accepted like ``%2B``, since Google ignores the
  white space around each coordinate; a New API body may come with ``Content-Length`` or
  chunked (``Transfer-Encoding: chunked``).
* Answers are framed the way Google frames them: an HTTP/1.1 request that keeps its connection
  gets a chunked body, ended by ``0`` and an empty line. Herds that speak HTTP over a raw socket
  wait for that second empty line after the head before they answer the WHATSAT, so a
  ``Content-Length`` body would leave them silent. A request that says ``Connection: close`` (or
  speaks HTTP/1.0) gets a ``Content-Length`` body and the close, which a herd reading to EOF
  needs.
* The head is Google's, in Google's order: a raw HTTP/1.1 reply of maps.googleapis.com (a Maps
  web service, 2020) reads ``Content-Type: application/json; charset=UTF-8``, ``Date``,
  ``Pragma``, ``Expires``, ``Cache-Control``, ``Access-Control-Allow-Origin``, ``Server: mafe``,
  ``X-XSS-Protection``, ``X-Frame-Options``, ``Server-Timing``, ``Alt-Svc``, ``Accept-Ranges:
  none``, ``Vary``, ``Transfer-Encoding: chunked``. The Legacy answers carry these (less the two
  that name Google's network), and every answer ends its head with the framing header: a
  herd's hand-written parser that reads the chunk size right after the word ``chunked`` works
  on Google, so it must work here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, TypedDict, cast, get_args

from aiohttp import HttpVersion11, web

from herdref.places.fixture_data import (
    MAX_RESULTS,
    NEW_PLACE_FIELDS,
    LegacyResponse,
    LegacyStatus,
    NewErrorBody,
    generate_places,
    legacy_response,
    new_response,
)
from herdref.places.fixture_head import google_head

__all__ = [
    "CONTROL_PREFIX",
    "ENDPOINTS",
    "FAULT_MODES",
    "LEGACY_PATH",
    "NEW_PATH",
    "FaultMode",
    "FaultSettings",
    "FixtureState",
    "RecordedRequest",
    "endpoint_lines",
    "make_app",
]

FaultMode = Literal[
    "none",
    "latency",
    "hang",
    "http_500",
    "over_query_limit",
    "request_denied",
    "zero_results",
    "malformed_json",
    "blank_lines",
]
FAULT_MODES: Final[tuple[FaultMode, ...]] = get_args(FaultMode)

LEGACY_PATH: Final = "/maps/api/place/nearbysearch/json"
NEW_PATH: Final = "/v1/places:searchNearby"
CONTROL_PREFIX: Final = "/_fixture/"
MAX_RADIUS_M: Final = 50_000.0
_REDACTED: Final = "<redacted>"
_RECORDED_BODY_LIMIT: Final = 65_536
_KEY_IN_QUERY_RE: Final = re.compile(r"(^|&)key=[^&]*")
_DECIMAL_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_UNSIGNED_DECIMAL_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NEW_BODY_FIELDS: Final = frozenset(
    {
        "includedTypes",
        "excludedTypes",
        "includedPrimaryTypes",
        "excludedPrimaryTypes",
        "maxResultCount",
        "locationRestriction",
        "rankPreference",
        "languageCode",
        "regionCode",
        "routingParameters",
    }
)
_MALFORMED_JSON: Final = (
    b'{\n   "html_attributions" : [],\n   "results" : [\n      {\n         "name" : "Cut Off'
)
_HTML_500: Final = (
    "<!DOCTYPE html>\n<html lang=en><title>Error 500 (Server Error)!!1</title>\n"
    "<p><b>500.</b> <ins>That's an error.</ins>\n"
    "<p>The server encountered an error and could not complete your request.\n</html>\n"
)
_NO_KEY_LEGACY: Final = (
    "You must use an API key to authenticate each request to Google Maps Platform APIs. "
    "For additional information, please refer to http://g.co/dev/maps-no-account"
)
_NO_KEY_NEW: Final = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


class RecordedRequest(TypedDict):
    """One request the fixture received, as ``GET /_fixture/requests`` lists it."""

    method: str
    path: str
    #: Decoded query parameters (the last value of a repeated name); ``key`` redacted.
    query: dict[str, str]
    #: The query string exactly as sent (still percent-encoded), ``key`` redacted.
    raw_query: str
    #: Request headers; ``X-Goog-Api-Key`` redacted.
    headers: dict[str, str]
    #: The parsed JSON body, or None when there is none or it is not JSON.
    json: Any
    #: The body as text (at most 64 KiB), "" when empty.
    body: str
    #: SHA-256 (hex) of the API key sent in ``key`` or ``X-Goog-Api-Key``; None without one.
    key_sha256: str | None
    #: Wall-clock time of arrival (POSIX seconds).
    time: float
    #: The HTTP status of the fixture's answer; None while the request is not answered yet.
    answer_status: int | None
    #: The body of the fixture's answer as text; None while the request is not answered yet.
    answer: str | None


class FaultSettings(TypedDict):
    mode: FaultMode
    latency_s: float


# ---- state shared by the handlers and the controlling thread ------------------------------


class FixtureState:
    """The record and the fault. Safe to use from any thread; handlers run on ``loop``."""

    def __init__(self, *, mode: FaultMode = "none", latency_s: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._mode: FaultMode = mode
        self._latency_s = latency_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._closing = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the handlers run on (so other threads can wake them)."""
        self.loop = loop
        self._changed = asyncio.Event()

    # -- the record --

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    def answered(self, entry: RecordedRequest, status: int, body: str) -> None:
        """Add the answer ``entry`` (a recorded request) got."""
        with self._lock:
            entry["answer_status"], entry["answer"] = status, body

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return copy.deepcopy(self._requests)

    # -- the fault --

    def fault(self) -> FaultSettings:
        with self._lock:
            return {"mode": self._mode, "latency_s": self._latency_s}

    def set_fault(self, mode: FaultMode, *, latency_s: float = 0.0) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; modes: {', '.join(FAULT_MODES)}")
        if not (math.isfinite(latency_s) and latency_s >= 0):
            raise ValueError(f"latency_s must be a finite number >= 0, not {latency_s!r}")
        with self._lock:
            self._mode, self._latency_s = mode, float(latency_s)
        self._wake()

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._mode, self._latency_s = "none", 0.0
        self._wake()

    def close(self) -> None:
        """Release every hung request (the fixture is stopping)."""
        self._closing = True
        self._wake()

    def _wake(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake_on_loop()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake_on_loop)

    def _wake_on_loop(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def fault_for_request(self) -> FaultMode:
        """The fault that applies to a request arriving now, after its delay; while the mode
        is ``hang`` this waits (until the mode changes or the fixture stops)."""
        fault = self.fault()
        if fault["latency_s"] > 0:
            await asyncio.sleep(fault["latency_s"])
        while self.fault()["mode"] == "hang" and not self._closing:
            assert self._changed is not None
            await self._changed.wait()
        if self._closing:
            raise web.HTTPServiceUnavailable(text="places fixture stopping\n")
        return self.fault()["mode"]


# ---- recording ---------------------------------------------------------------------------


def _redacted_headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = _REDACTED if name.lower() == "x-goog-api-key" and value else value
    return headers


def _sent_key(request: web.Request) -> str:
    return request.headers.get("X-Goog-Api-Key", "") or request.query.get("key", "")


async def _record(request: web.Request, state: FixtureState) -> RecordedRequest:
    body = await request.read()
    parsed: Any = None
    if body:
        with contextlib.suppress(ValueError):
            parsed = json.loads(body)
    query = {name: (_REDACTED if name == "key" and value else value) for name, value in request.query.items()}
    key = _sent_key(request)
    entry: RecordedRequest = {
        "method": request.method,
        "path": request.path,
        "query": query,
        "raw_query": _KEY_IN_QUERY_RE.sub(rf"\1key={_REDACTED}", request.rel_url.raw_query_string),
        "headers": _redacted_headers(request),
        "json": parsed,
        "body": body[:_RECORDED_BODY_LIMIT].decode("utf-8", "replace"),
        "key_sha256": hashlib.sha256(key.encode("utf-8")).hexdigest() if key else None,
        "time": time.time(),
        "answer_status": None,
        "answer": None,
    }
    state.record(entry)
    return entry


# ---- answers -----------------------------------------------------------------------------


def _json(document: object, *, status: int = 200, blank_lines: bool = False) -> web.Response:
    # Google's legacy layout, so what a herd passes through looks like what Google sends.
    text = json.dumps(document, indent=3, separators=(",", " : "), ensure_ascii=False)
    if blank_lines:
        text = text.replace(",\n", ",\n\n")
    return web.Response(text=text + "\n", status=status, content_type="application/json")


def _html_500() -> web.Response:
    return web.Response(text=_HTML_500, status=500, content_type="text/html")


def _malformed() -> web.Response:
    return web.Response(body=_MALFORMED_JSON, status=200, content_type="application/json")


def _legacy_error(status: LegacyStatus, message: str | None) -> web.Response:
    document: LegacyResponse = {}
    if message is not None:
        document["error_message"] = message
    document.update({"html_attributions": [], "results": [], "status": status})
    return _json(document)


def _new_error(http_status: int, status: str, message: str) -> web.Response:
    document: NewErrorBody = {"error": {"code": http_status, "message": message, "status": status}}
    return _json(document, status=http_status)


def _invalid_argument(message: str) -> web.Response:
    return _new_error(400, "INVALID_ARGUMENT", message)


def _legacy_point(location: str) -> tuple[float, float] | None:
    latitude, comma, longitude = location.partition(",")
    # A raw '+' decodes to a space; Google ignores white space around each coordinate, so
    # location=+34.068930,-118.445127 is the same point as location=%2B34.068930,-118.445127.
    latitude, longitude = latitude.strip(" "), longitude.strip(" ")
    if not comma or not (_DECIMAL_RE.fullmatch(latitude) and _DECIMAL_RE.fullmatch(longitude)):
        return None
    lat, lng = float(latitude), float(longitude)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


async def legacy_nearby(request: web.Request) -> web.Response:
    """Nearby Search (Legacy). Errors are HTTP 200 with a status in the body, as Google does."""
    state: FixtureState = request.app[_STATE]
    fault = await state.fault_for_request()
    key = request.query.get("key", "")
    if fault == "http_500":
        return _html_500()
    if fault == "malformed_json":
        return _malformed()
    if fault == "over_query_limit":
        return _legacy_error("OVER_QUERY_LIMIT", "You have exceeded your daily request quota for this API.")
    if fault == "request_denied":
        return _legacy_error("REQUEST_DENIED", f"The provided API key is invalid. (key sent: {key})")
    if not key:
        return _legacy_error("REQUEST_DENIED", _NO_KEY_LEGACY)
    point = _legacy_point(request.query.get("location", ""))
    if point is None:
        return _legacy_error("INVALID_REQUEST", "Invalid request. Invalid 'location' parameter.")
    radius_text = request.query.get("radius")
    if request.query.get("rankby") == "distance" and radius_text is not None:
        return _legacy_error("INVALID_REQUEST", "Invalid request. rankby=distance forbids 'radius'.")
    if radius_text is None or not _UNSIGNED_DECIMAL_RE.fullmatch(radius_text):
        return _legacy_error("INVALID_REQUEST", "Invalid request. Invalid 'radius' parameter.")
    radius_m = float(radius_text)
    if not 0 < radius_m <= MAX_RADIUS_M:
        return _legacy_error("INVALID_REQUEST", "Invalid request. 'radius' must be in (0, 50000].")
    if fault == "zero_results":
        return _json(legacy_response([]))
    places = generate_places(*point, radius_m, count=MAX_RESULTS)
    return _json(legacy_response(places), blank_lines=fault == "blank_lines")


def _mask_fields(mask: str) -> set[str] | str | None:
    """The top-level Place fields a field mask names; None for every field; a str is the
    path Google would reject."""
    fields: set[str] = set()
    for raw_path in mask.split(","):
        path = raw_path.strip()
        if path in ("*", "places", "places.*"):
            return None
        root, _, rest = path.partition(".")
        if root != "places" or not rest:
            return path
        field = rest.split(".", 1)[0]
        if field not in NEW_PLACE_FIELDS:
            return path
        fields.add(field)
    return fields


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _check_new_body(body: object) -> tuple[float, float, float, int] | str:
    """(latitude, longitude, radius, maxResultCount), or the INVALID_ARGUMENT message."""
    if not isinstance(body, dict):
        return "Invalid JSON payload received. Expected an object."
    unknown = sorted(set(body) - _NEW_BODY_FIELDS)
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
    restriction = body.get("locationRestriction")
    circle = restriction.get("circle") if isinstance(restriction, dict) else None
    if not isinstance(circle, dict):
        return "locationRestriction.circle is required."
    center = circle.get("center", {})
    center = center if isinstance(center, dict) else {}
    # proto3 JSON: an absent number is zero.
    latitude, longitude = _number(center.get("latitude", 0)), _number(center.get("longitude", 0))
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return "locationRestriction.circle.center must have latitude in [-90, 90], longitude in [-180, 180]."
    radius = _number(circle.get("radius", 0))
    if radius is None or not 0 < radius <= MAX_RADIUS_M:
        return "locationRestriction.circle.radius must be greater than 0.0 and at most 50000.0."
    count = body.get("maxResultCount", MAX_RESULTS)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RESULTS:
        return f"maxResultCount must be between 1 and {MAX_RESULTS}, not {count!r}."
    return latitude, longitude, radius, count


async def new_nearby(request: web.Request) -> web.Response:
    """Nearby Search (New). Errors are HTTP codes with Google's ``{"error": ...}`` body."""
    state: FixtureState = request.app[_STATE]
    fault = await state.fault_for_request()
    key = _sent_key(request)
    if fault == "http_500":
        return _html_500()
    if fault == "malformed_json":
        return _malformed()
    if fault == "over_query_limit":
        return _new_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'SearchNearby requests' and limit 'SearchNearby "
            "requests per minute' of service 'places.googleapis.com'.",
        )
    if fault == "request_denied":
        return _new_error(403, "PERMISSION_DENIED", f"API key not valid: {key}. Please pass a valid API key.")
    if not key:
        return _new_error(403, "PERMISSION_DENIED", _NO_KEY_NEW)
    mask = (
        request.headers.get("X-Goog-FieldMask") or request.query.get("fields") or request.query.get("$fields")
    )
    if not mask:
        return _invalid_argument(
            "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters "
            "on how to provide it. As an example, you can set the header 'X-Goog-FieldMask' to value "
            "'places.displayName', or to '*' to request all fields."
        )
    fields = _mask_fields(mask)
    if isinstance(fields, str):
        return _invalid_argument(
            f"Error expanding 'fields' parameter. Cannot find matching fields for path '{fields}'."
        )
    try:
        body = json.loads(await request.read())
    except ValueError:
        return _invalid_argument("Invalid JSON payload received.")
    checked = _check_new_body(body)
    if isinstance(checked, str):
        return _invalid_argument(checked)
    latitude, longitude, radius, count = checked
    if fault == "zero_results":
        return _json(new_response([]))
    places = generate_places(latitude, longitude, radius, count=MAX_RESULTS)[:count]
    return _json(new_response(places, fields), blank_lines=fault == "blank_lines")


# ---- control endpoints -------------------------------------------------------------------


async def control_requests(request: web.Request) -> web.Response:
    state: FixtureState = request.app[_STATE]
    return web.json_response(state.requests())


async def control_reset(request: web.Request) -> web.Response:
    state: FixtureState = request.app[_STATE]
    state.reset()
    return web.json_response(state.fault())


async def control_fault(request: web.Request) -> web.Response:
    state: FixtureState = request.app[_STATE]
    if request.method == "GET":
        return web.json_response(state.fault())
    try:
        body = json.loads(await request.read())
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        latency = body.get("latency_s", 0.0)
        if isinstance(latency, bool) or not isinstance(latency, int | float):
            raise ValueError("latency_s must be a number")
        state.set_fault(cast(FaultMode, body.get("mode")), latency_s=float(latency))
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(state.fault())


#: Every endpoint of the fixture: (method, path, what it does); ``GET /`` lists them and the
#: command prints them at start.
ENDPOINTS: Final[tuple[tuple[str, str, str], ...]] = (
    ("GET", LEGACY_PATH, "Nearby Search (Legacy): location, radius, key"),
    ("POST", NEW_PATH, "Nearby Search (New): X-Goog-Api-Key, X-Goog-FieldMask, JSON body"),
    ("GET", CONTROL_PREFIX + "requests", "every request received, oldest first (key redacted)"),
    ("POST", CONTROL_PREFIX + "reset", "forget the requests and clear the fault"),
    ("GET", CONTROL_PREFIX + "fault", "the current fault"),
    ("POST", CONTROL_PREFIX + "fault", 'set the fault: {"mode": ..., "latency_s": ...}'),
    ("GET", "/", "this list"),
)


def endpoint_lines(base_url: str = "") -> list[str]:
    """One line per endpoint: method, URL, what it does."""
    return [f"{method:<4} {base_url}{path}  {summary}" for method, path, summary in ENDPOINTS]


async def index(request: web.Request) -> web.Response:
    lines = ["herdref Places fixture (offline Google Places, both Nearby Search APIs)", ""]
    lines += endpoint_lines()
    lines += ["", f"fault modes: {', '.join(FAULT_MODES)}"]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


_STATE: Final = web.AppKey("state", FixtureState)


@web.middleware
async def _recording(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path == "/" or request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = request.app[_STATE]
    entry = await _record(request, state)
    response = await handler(request)
    if isinstance(response, web.Response) and response.text is not None:
        state.answered(entry, response.status, response.text)
    google_head(response, legacy=request.path == LEGACY_PATH)
    if _answer_chunked(request):
        response.enable_chunked_encoding()
        # Google's last header; aiohttp sets this one in place, so it stays last.
        response.headers["Transfer-Encoding"] = "chunked"
    return response


def _answer_chunked(request: web.Request) -> bool:
    """Google's framing (see the module's rules): chunked unless the request ends the connection."""
    return request.version >= HttpVersion11 and request.keep_alive


def make_app(state: FixtureState) -> web.Application:
    """The fixture as an aiohttp application (both Google paths plus the control paths)."""
    app = web.Application(middlewares=[_recording])
    app[_STATE] = state
    app.router.add_get(LEGACY_PATH, legacy_nearby)
    app.router.add_post(NEW_PATH, new_nearby)
    app.router.add_get(CONTROL_PREFIX + "requests", control_requests)
    app.router.add_post(CONTROL_PREFIX + "reset", control_reset)
    app.router.add_route("*", CONTROL_PREFIX + "fault", control_fault)
    app.router.add_get("/", index)
    return app
