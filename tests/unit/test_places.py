"""Places providers with aiohttp mocked by aioresponses: request shapes, answers of every
kind, failures, the shared-call machinery and the API key's secrecy (PLACES-1..7)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

from herdref.herd.config import ConfigError, PlacesSettings, parse_config
from herdref.herd.node import PlacesLookup
from herdref.places.client import (
    DEFAULT_BASE_URLS,
    FIELD_MASK,
    FIELD_MASK_FIELDS,
    ApiKey,
    FixturePlacesClient,
    LegacyPlacesClient,
    NewPlacesClient,
    PlacesError,
    legacy_from_new,
    legacy_request_url,
    load_api_key,
    make_places_client,
    radius_metres,
    render_json,
)
from herdref.places.fixture_data import (
    NEW_PLACE_FIELDS,
    generate_places,
    haversine_m,
    legacy_response,
    new_response,
)

KEY = "AIzaSy-test+key/with&odd=chars-0123456789"
BASE = "http://127.0.0.1:9"
LEGACY_URL = re.compile(r"^http://127\.0\.0\.1:9/maps/api/place/nearbysearch/json\?.*$")
NEW_URL = f"{BASE}/v1/places:searchNearby"
ENV = {"HERDREF_PLACES_API_KEY": KEY}


def lookup(
    radius_km: bytes = b"10", bound: int = 5, latitude: str = "34.068930", longitude: str = "-118.445127"
) -> PlacesLookup:
    at_line = b"AT Bailey +0.5 kiwi +34.068930-118.445127 1700000000"
    request = b"WHATSAT kiwi %s %d" % (radius_km, bound)
    return PlacesLookup(at_line, latitude, longitude, radius_km, bound, request)


def client(
    provider: str = "legacy",
    *,
    shape: str = "legacy",
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] | None = None,
    **settings: Any,
) -> Any:
    places = PlacesSettings(provider=provider, shape=shape, base_url=BASE, **settings)  # type: ignore[arg-type]
    extra = {} if clock is None else {"clock": clock}
    made = make_places_client(places, name="Bailey", environ=ENV if environ is None else environ, **extra)
    _made.append(made)
    return made


_made: list[Any] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    """Every client a test makes is closed, even when the test fails half-way."""
    yield
    while _made:
        await _made.pop().aclose()


def legacy_result(index: int) -> dict[str, Any]:
    return {
        "geometry": {"location": {"lat": 34.07 + index / 1000, "lng": -118.44}},
        "name": f"Place {index}",
        "place_id": f"id-{index}",
        "types": ["cafe"],
        "vicinity": f"{index} Main Street",
    }


def legacy_body(count: int, status: str = "OK") -> dict[str, Any]:
    return {"html_attributions": [], "results": [legacy_result(i) for i in range(count)], "status": status}


def new_place(index: int) -> dict[str, Any]:
    return {
        "id": f"id-{index}",
        "displayName": {"text": f"Place {index}", "languageCode": "en"},
        "location": {"latitude": 34.07 + index / 1000, "longitude": -118.44},
        "types": ["cafe", "food"],
        "rating": 4.5,
        "userRatingCount": 10 + index,
        "businessStatus": "OPERATIONAL",
        "shortFormattedAddress": f"{index} Main Street",
    }


def parse_reply_json(body: bytes) -> Any:
    # WHATSAT-6: no empty line inside, no trailing newline.
    assert b"\n\n" not in body
    assert not body.endswith(b"\n")
    return json.loads(body)


class _ResponseWithWriter(aiohttp.ClientResponse):
    """aiohttp 3.14 made ``stream_writer`` a required argument and aioresponses 0.7.9 does not
    pass it (pnuckowski/aioresponses#289); a finished request's writer only reports its size."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


class MockedGoogle(aioresponses):
    def add(self, *args: Any, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("response_class", _ResponseWithWriter)
        super().add(*args, **kwargs)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with MockedGoogle() as mock:
        yield mock


def sent(mock: aioresponses) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, kwargs) of every request the client made."""
    return [
        (method, str(url), call.kwargs) for (method, url), calls in mock.requests.items() for call in calls
    ]


# ---- request shape (PLACES-2) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("radius_km", "metres"),
    [(b"10", "10000"), (b"50", "50000"), (b"10.5", "10500"), (b"0.0005", "0.5"), (b"1.2345678", "1234.5678")],
)
def test_radius_goes_to_google_in_exact_metres(radius_km: bytes, metres: str) -> None:
    assert radius_metres(radius_km) == Decimal(metres)
    url = legacy_request_url(BASE, lookup(radius_km), ApiKey(KEY))
    assert parse_qs(urlsplit(url).query)["radius"] == [metres]


def test_radius_with_many_digits_is_not_rounded() -> None:
    radius_km = b"0.123456789012345678901234567890123"
    expected = Fraction(radius_km.decode()) * 1000
    assert Fraction(radius_metres(radius_km)) == expected


def test_legacy_url_has_no_raw_plus_and_round_trips_every_parameter() -> None:
    url = legacy_request_url(BASE, lookup(latitude="-33.8670522", longitude="151.1957362"), ApiKey(KEY))
    query = urlsplit(url).query
    # A raw '+' in a query string means a space; signs and key characters must be encoded.
    assert "+" not in query
    assert "&odd" not in query
    assert parse_qs(query) == {"location": ["-33.8670522,151.1957362"], "radius": ["10000"], "key": [KEY]}
    assert url.startswith(f"{BASE}/maps/api/place/nearbysearch/json?")


def test_legacy_url_without_a_key_leaves_the_parameter_out() -> None:
    assert "key" not in parse_qs(urlsplit(legacy_request_url(BASE, lookup(), None)).query)


async def test_legacy_request_is_one_get_with_location_radius_and_key(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(3))
    places = client("legacy")
    await places.nearby(lookup(b"2.5", 3))
    ((method, url, _),) = sent(mocked)
    assert method == "GET"
    assert parse_qs(urlsplit(url).query) == {
        "location": ["34.068930,-118.445127"],
        "radius": ["2500"],
        "key": [KEY],
    }
    await places.aclose()


async def test_new_request_posts_the_circle_in_metres_with_key_and_field_mask(mocked: aioresponses) -> None:
    mocked.post(NEW_URL, payload={"places": [new_place(0)]})
    places = client("new", shape="native")
    await places.nearby(lookup(b"0.25", 7, latitude="-33.5", longitude="151.25"))
    ((method, url, kwargs),) = sent(mocked)
    assert (method, url) == ("POST", NEW_URL)
    headers = kwargs["headers"]
    assert headers["X-Goog-Api-Key"] == KEY
    assert headers["X-Goog-FieldMask"] == FIELD_MASK
    assert headers["Content-Type"] == "application/json"
    assert json.loads(kwargs["data"]) == {
        "locationRestriction": {
            "circle": {"center": {"latitude": -33.5, "longitude": 151.25}, "radius": 250}
        },
        "maxResultCount": 7,
    }
    await places.aclose()


def test_field_mask_names_only_real_place_fields() -> None:
    paths = FIELD_MASK.split(",")
    assert all(path.startswith("places.") for path in paths)
    assert {path.split(".")[1] for path in paths} <= NEW_PLACE_FIELDS


async def test_decimal_radius_is_a_json_number_of_metres(mocked: aioresponses) -> None:
    mocked.post(NEW_URL, payload={})
    places = client("new")
    await places.nearby(lookup(b"0.0005", 1))
    ((_, _, kwargs),) = sent(mocked)
    assert json.loads(kwargs["data"])["locationRestriction"]["circle"]["radius"] == 0.5
    await places.aclose()


# ---- answers (PLACES-3) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["OK", "ZERO_RESULTS", "INVALID_REQUEST", "OVER_QUERY_LIMIT", "REQUEST_DENIED", "UNKNOWN_ERROR"]
)
async def test_every_legacy_status_is_passed_through(mocked: aioresponses, status: str) -> None:
    google = legacy_body(2 if status == "OK" else 0, status)
    if status not in ("OK", "ZERO_RESULTS"):
        google["error_message"] = f"Google says {status}"
    mocked.get(LEGACY_URL, payload=google)
    places = client("legacy")
    assert parse_reply_json(await places.nearby(lookup())) == google
    await places.aclose()


@pytest.mark.parametrize(
    ("http_status", "google_status", "legacy_status"),
    [
        (400, "INVALID_ARGUMENT", "INVALID_REQUEST"),
        (400, "FAILED_PRECONDITION", "INVALID_REQUEST"),
        (401, "UNAUTHENTICATED", "REQUEST_DENIED"),
        (403, "PERMISSION_DENIED", "REQUEST_DENIED"),
        (429, "RESOURCE_EXHAUSTED", "OVER_QUERY_LIMIT"),
        (500, "INTERNAL", "UNKNOWN_ERROR"),
        (503, "UNAVAILABLE", "UNKNOWN_ERROR"),
        (504, "DEADLINE_EXCEEDED", "UNKNOWN_ERROR"),
        (429, None, "OVER_QUERY_LIMIT"),
        (403, None, "REQUEST_DENIED"),
    ],
)
async def test_new_api_errors_become_the_legacy_status_of_the_same_meaning(
    mocked: aioresponses, http_status: int, google_status: str | None, legacy_status: str
) -> None:
    error: dict[str, Any] = {"code": http_status, "message": "what went wrong"}
    if google_status is not None:
        error["status"] = google_status
    mocked.post(NEW_URL, status=http_status, payload={"error": error}, repeat=True)
    legacy_shaped = client("new", shape="legacy")
    assert parse_reply_json(await legacy_shaped.nearby(lookup())) == {
        "error_message": "what went wrong",
        "html_attributions": [],
        "results": [],
        "status": legacy_status,
    }
    native = client("new", shape="native")
    assert parse_reply_json(await native.nearby(lookup())) == {"error": error}
    await legacy_shaped.aclose()
    await native.aclose()


async def test_new_places_in_the_legacy_envelope(mocked: aioresponses) -> None:
    mocked.post(NEW_URL, payload={"places": [new_place(0), new_place(1)]})
    places = client("new", shape="legacy")
    reply = parse_reply_json(await places.nearby(lookup(bound=2)))
    assert reply["status"] == "OK"
    assert reply["html_attributions"] == []
    assert reply["results"][1] == {
        "business_status": "OPERATIONAL",
        "geometry": {"location": {"lat": 34.071, "lng": -118.44}},
        "name": "Place 1",
        "place_id": "id-1",
        "rating": 4.5,
        "types": ["cafe", "food"],
        "user_ratings_total": 11,
        "vicinity": "1 Main Street",
    }
    await places.aclose()


async def test_new_api_empty_answer_is_zero_results_in_the_legacy_envelope(mocked: aioresponses) -> None:
    # proto3 JSON leaves the empty list out: no match is {}.
    mocked.post(NEW_URL, payload={}, repeat=True)
    legacy_shaped = client("new", shape="legacy")
    assert parse_reply_json(await legacy_shaped.nearby(lookup())) == {
        "html_attributions": [],
        "results": [],
        "status": "ZERO_RESULTS",
    }
    native = client("new", shape="native")
    assert parse_reply_json(await native.nearby(lookup())) == {}
    await legacy_shaped.aclose()
    await native.aclose()


def test_legacy_mapping_reads_proto3_omissions_as_zero_and_false() -> None:
    place = {
        "id": "x",
        "location": {"longitude": 12.5},
        "viewport": {"low": {"latitude": -1.0}, "high": {"longitude": 2.0}},
        "currentOpeningHours": {},
        "priceLevel": "PRICE_LEVEL_EXPENSIVE",
        "plusCode": {"globalCode": "849VCWC8+R9"},
        "formattedAddress": "1 Long Street, Town",
        "iconMaskBaseUri": "https://example.invalid/pin",
        "iconBackgroundColor": "#FF9E67",
    }
    (result,) = legacy_from_new(200, {"places": [place]}, 20)["results"]
    assert result == {
        "geometry": {
            "location": {"lat": 0.0, "lng": 12.5},
            "viewport": {"northeast": {"lat": 0.0, "lng": 2.0}, "southwest": {"lat": -1.0, "lng": 0.0}},
        },
        "icon_background_color": "#FF9E67",
        "icon_mask_base_uri": "https://example.invalid/pin",
        "opening_hours": {"open_now": False},
        "place_id": "x",
        "plus_code": {"global_code": "849VCWC8+R9"},
        "price_level": 3,
        "vicinity": "1 Long Street, Town",
    }


@pytest.mark.parametrize("bound", [1, 5, 19, 20])
async def test_legacy_results_are_cut_to_the_bound_in_order(mocked: aioresponses, bound: int) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(20))
    places = client("legacy")
    reply = parse_reply_json(await places.nearby(lookup(bound=bound)))
    assert [result["name"] for result in reply["results"]] == [f"Place {i}" for i in range(bound)]
    await places.aclose()


async def test_native_places_are_cut_even_if_google_sends_too_many(mocked: aioresponses) -> None:
    mocked.post(NEW_URL, payload={"places": [new_place(i) for i in range(6)]}, repeat=True)
    for shape in ("native", "legacy"):
        places = client("new", shape=shape)
        reply = parse_reply_json(await places.nearby(lookup(bound=4)))
        assert len(reply.get("places", reply.get("results"))) == 4
        await places.aclose()


async def test_blank_lines_in_googles_body_are_squeezed(mocked: aioresponses) -> None:
    google = legacy_body(2)
    raw = json.dumps(google, indent=2).replace("\n", "\n\n\n") + "\n\n\n"
    mocked.get(LEGACY_URL, body=raw, content_type="application/json")
    places = client("legacy")
    body = await places.nearby(lookup())
    assert parse_reply_json(body) == google
    # Google's legacy layout: three-space indent and " : ".
    assert body.startswith(b'{\n   "html_attributions" : [],\n   "results" : [\n')
    await places.aclose()


def test_render_json_squeezes_and_keeps_escaped_newlines_inside_strings() -> None:
    document = {"text": "a\n\nb", "nested": {"list": [[], {}], "unicode": "café"}}
    body = render_json(document)
    assert b"\n\n" not in body
    assert not body.endswith(b"\n")
    assert json.loads(body) == document
    assert "café".encode() in body


# ---- bound 0 (PLACES-4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "shape", "expected"),
    [
        ("legacy", "legacy", {"html_attributions": [], "results": [], "status": "OK"}),
        ("new", "legacy", {"html_attributions": [], "results": [], "status": "OK"}),
        ("new", "native", {"places": []}),
        ("fixture", "legacy", {"html_attributions": [], "results": [], "status": "OK"}),
        ("fixture", "native", {"places": []}),
    ],
)
async def test_bound_zero_makes_no_call(
    mocked: aioresponses, provider: str, shape: str, expected: Any
) -> None:
    places = client(provider, shape=shape)
    assert parse_reply_json(await places.nearby(lookup(bound=0))) == expected
    assert sent(mocked) == []
    await places.aclose()


# ---- failures (PLACES-5) -----------------------------------------------------------------


def register_failure(mock: aioresponses, provider: str, failure: str) -> None:
    register = mock.get if provider == "legacy" else mock.post
    url = LEGACY_URL if provider == "legacy" else NEW_URL
    if failure == "timeout":
        register(url, exception=TimeoutError())
    elif failure == "connection refused":
        register(url, exception=aiohttp.ClientConnectionError("Cannot connect to host 127.0.0.1:9"))
    elif failure == "html 500":
        register(url, status=500, body="<html>Server Error</html>", content_type="text/html")
    elif failure == "html 200":
        register(url, status=200, body="<html>hello</html>", content_type="text/html")
    elif failure == "truncated json":
        register(url, status=200, body='{"results" : [', content_type="application/json")
    elif failure == "json array":
        register(url, status=200, payload=[1, 2])
    elif failure == "json string":
        register(url, status=200, payload="OK")
    elif failure == "NaN":
        register(url, status=200, body='{"rating": NaN}', content_type="application/json")
    elif failure == "empty body 502":
        register(url, status=502, body="")


FAILURES = [
    "timeout",
    "connection refused",
    "html 500",
    "html 200",
    "truncated json",
    "json array",
    "json string",
    "NaN",
    "empty body 502",
]


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize(("provider", "shape"), [("legacy", "legacy"), ("new", "legacy"), ("new", "native")])
async def test_no_usable_answer_is_a_places_error(
    mocked: aioresponses, provider: str, shape: str, failure: str
) -> None:
    register_failure(mocked, provider, failure)
    places = client(provider, shape=shape)
    with pytest.raises(PlacesError):
        await places.nearby(lookup())
    await places.aclose()


@pytest.mark.parametrize("shape", ["legacy", "native"])
@pytest.mark.parametrize("bad_places", [{"oops": 1}, "none", [1, 2], [{"id": "a"}, None]])
async def test_new_api_2xx_with_places_not_a_list_of_objects_is_a_places_error(
    mocked: aioresponses, shape: str, bad_places: Any
) -> None:
    mocked.post(NEW_URL, payload={"places": bad_places})
    places = client("new", shape=shape)
    with pytest.raises(PlacesError, match="not a list"):
        await places.nearby(lookup())
    await places.aclose()


# ---- the API key (PLACES-6) --------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("provider", ["legacy", "new"])
async def test_the_key_is_in_no_error_message_repr_or_traceback(
    mocked: aioresponses, provider: str, failure: str
) -> None:
    if failure == "connection refused":
        # An error whose text holds the whole URL, key included, as some aiohttp errors do.
        register = mocked.get if provider == "legacy" else mocked.post
        url = LEGACY_URL if provider == "legacy" else NEW_URL
        register(url, exception=aiohttp.ClientConnectionError(f"cannot reach {BASE}/?key={KEY} ({KEY})"))
    else:
        register_failure(mocked, provider, failure)
    places = client(provider)
    with pytest.raises(PlacesError) as caught:
        await places.nearby(lookup())
    shown = [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    shown.append(repr(places))
    for text in shown:
        assert KEY not in text
        assert "test+key" not in text and "test%2Bkey" not in text
    await places.aclose()


@pytest.mark.parametrize(("provider", "shape"), [("legacy", "legacy"), ("new", "legacy"), ("new", "native")])
async def test_a_key_echoed_by_google_is_scrubbed_from_the_reply(
    mocked: aioresponses, provider: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if provider == "legacy":
        mocked.get(
            LEGACY_URL,
            payload={
                "error_message": f"The provided API key is invalid: {KEY}",
                "html_attributions": [],
                "results": [],
                "status": "REQUEST_DENIED",
                KEY: [KEY, {"nested": f"x{KEY}x"}],
            },
        )
    else:
        message = f"API key not valid: {KEY}. Please pass a valid API key."
        mocked.post(NEW_URL, status=403, payload={"error": {"code": 403, "message": message}})
    places = client(provider, shape=shape)
    body = await places.nearby(lookup())
    assert KEY.encode() not in body
    assert b"<redacted>" in body
    assert KEY not in caplog.text
    await places.aclose()


def test_api_key_repr_and_str_hide_the_secret() -> None:
    key = ApiKey(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"
    assert key.reveal() == KEY
    assert (
        key.redact(
            f"a {KEY} b %s"
            % KEY.replace("+", "%2B").replace("/", "%2F").replace("&", "%26").replace("=", "%3D")
        )
        == "a <redacted> b <redacted>"
    )


def test_key_comes_from_the_named_environment_variable_or_the_file(tmp_path: Path) -> None:
    assert load_api_key(PlacesSettings(api_key_env="MY_KEY"), {"MY_KEY": " k1 \n"}).reveal() == "k1"  # type: ignore[union-attr]
    assert load_api_key(PlacesSettings(), {"MY_KEY": "k1"}) is None
    assert load_api_key(PlacesSettings(), {"HERDREF_PLACES_API_KEY": "   "}) is None
    key_file = tmp_path / "key"
    key_file.write_text("k2\n", encoding="utf-8")
    from_file = load_api_key(PlacesSettings(api_key_file=key_file), {"HERDREF_PLACES_API_KEY": "k1"})
    assert from_file is not None and from_file.reveal() == "k2"
    with pytest.raises(ConfigError, match="api_key_file") as caught:
        load_api_key(PlacesSettings(api_key_file=tmp_path / "missing"), {})
    assert "k2" not in str(caught.value)


# ---- choosing a provider (PLACES-1) ------------------------------------------------------


def test_auto_is_new_with_a_key_and_the_fixture_without() -> None:
    assert isinstance(client("auto"), NewPlacesClient)
    assert isinstance(client("auto", environ={}), FixturePlacesClient)


def test_default_base_urls_are_googles_hosts() -> None:
    for provider, expected_class in (("legacy", LegacyPlacesClient), ("new", NewPlacesClient)):
        places = make_places_client(PlacesSettings(provider=provider), name="Bailey", environ=ENV)  # type: ignore[arg-type]
        assert isinstance(places, expected_class)
        assert places.base_url == DEFAULT_BASE_URLS[provider]
    assert DEFAULT_BASE_URLS == {
        "legacy": "https://maps.googleapis.com",
        "new": "https://places.googleapis.com",
    }


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1", "127.0.0.1:8080", "http://", "http://h/?q=1"])
def test_a_base_url_that_is_not_http_is_a_config_error(base_url: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        make_places_client(PlacesSettings(provider="legacy", base_url=base_url), name="Bailey", environ=ENV)


def test_without_a_key_the_request_goes_out_keyless_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    places = client("legacy", environ={})
    assert isinstance(places, LegacyPlacesClient)
    assert "REQUEST_DENIED" in caplog.text


def test_importing_places_and_using_the_fixture_does_not_load_aiohttp() -> None:
    # The server must listen within half a second of starting: aiohttp costs too much for that.
    code = (
        "import asyncio, sys\n"
        "from herdref.herd.config import PlacesSettings\n"
        "from herdref.herd.node import PlacesLookup\n"
        "from herdref.places.client import make_places_client\n"
        "import herdref.herd.server\n"
        "places = make_places_client(PlacesSettings(provider='fixture'), name='x', environ={})\n"
        "asyncio.run(places.nearby(PlacesLookup(b'AT', '1', '2', b'3', 4, b'W')))\n"
        "print('aiohttp' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# ---- session, cap, coalescing, cache (PLACES-7) -----------------------------------------


async def test_one_session_is_created_lazily_and_shared(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(1), repeat=True)
    places = client("legacy")
    assert places._session is None
    await places.nearby(lookup(b"1"))
    session = places._session
    await places.nearby(lookup(b"2"))
    assert places._session is session
    await places.aclose()
    assert session is not None and session.closed


async def test_the_user_agent_names_the_package_version_and_the_server(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(1))
    places = client("legacy")
    await places.nearby(lookup(b"1"))
    assert places._session is not None
    assert places._session.headers["User-Agent"] == f"herdref/{metadata.version('herdref')} ({places._name})"
    await places.aclose()


class Gate:
    """An aioresponses callback that holds every request until the test opens the gate."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.open = asyncio.Event()
        self.arrival = asyncio.Condition()
        self.arrived = 0
        self.in_flight = 0
        self.most_in_flight = 0

    async def respond(self, url: Any, **kwargs: Any) -> CallbackResult:
        self.arrived += 1
        async with self.arrival:
            self.arrival.notify_all()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.open.wait()
        finally:
            self.in_flight -= 1
        return CallbackResult(
            payload=self.payload, response_class=_ResponseWithWriter if _NEEDS_STREAM_WRITER else None
        )

    async def wait_arrived(self, count: int) -> None:
        async with asyncio.timeout(5), self.arrival:
            await self.arrival.wait_for(lambda: self.arrived >= count)


async def test_identical_lookups_in_flight_share_one_call_each_cut_to_its_bound(mocked: aioresponses) -> None:
    gate = Gate(legacy_body(20))
    mocked.get(LEGACY_URL, callback=gate.respond, repeat=True)
    places = client("legacy")
    tasks = [asyncio.create_task(places.nearby(lookup(b"10.0", bound))) for bound in (5, 2, 20)]
    await gate.wait_arrived(1)
    await asyncio.sleep(0)
    gate.open.set()
    replies = [parse_reply_json(reply) for reply in await asyncio.gather(*tasks)]
    assert gate.arrived == 1
    assert [len(reply["results"]) for reply in replies] == [5, 2, 20]
    await places.aclose()


async def test_a_waiter_that_leaves_does_not_cancel_the_shared_call(mocked: aioresponses) -> None:
    gate = Gate(legacy_body(3))
    mocked.get(LEGACY_URL, callback=gate.respond, repeat=True)
    places = client("legacy")
    first = asyncio.create_task(places.nearby(lookup()))
    second = asyncio.create_task(places.nearby(lookup()))
    await gate.wait_arrived(1)
    first.cancel()
    gate.open.set()
    assert len(parse_reply_json(await second)["results"]) == 3
    assert gate.arrived == 1
    await places.aclose()


async def test_new_api_lookups_differing_in_bound_are_separate_calls(mocked: aioresponses) -> None:
    gate = Gate({"places": [new_place(0)]})
    mocked.post(NEW_URL, callback=gate.respond, repeat=True)
    places = client("new")
    tasks = [asyncio.create_task(places.nearby(lookup(bound=bound))) for bound in (1, 2, 2)]
    await gate.wait_arrived(2)
    gate.open.set()
    await asyncio.gather(*tasks)
    assert gate.arrived == 2
    await places.aclose()


async def test_concurrent_requests_are_capped(mocked: aioresponses) -> None:
    gate = Gate(legacy_body(1))
    mocked.get(LEGACY_URL, callback=gate.respond, repeat=True)
    places = client("legacy", max_concurrent=2)
    tasks = [asyncio.create_task(places.nearby(lookup(f"{radius}".encode()))) for radius in range(1, 7)]
    await gate.wait_arrived(2)
    for _ in range(20):
        await asyncio.sleep(0)  # give a third request every chance to get past the cap
    assert gate.in_flight == 2
    gate.open.set()
    await asyncio.gather(*tasks)
    assert gate.arrived == 6
    assert gate.most_in_flight == 2
    await places.aclose()


async def test_cache_answers_within_the_ttl_honouring_radius_and_bound(mocked: aioresponses) -> None:
    now = [1000.0]
    mocked.get(LEGACY_URL, payload=legacy_body(20), repeat=True)
    places = client("legacy", cache_ttl_s=30.0, clock=lambda: now[0])
    assert len(parse_reply_json(await places.nearby(lookup(b"10", 20)))["results"]) == 20
    now[0] += 29.0
    assert len(parse_reply_json(await places.nearby(lookup(b"10", 3)))["results"]) == 3
    assert len(sent(mocked)) == 1
    await places.nearby(lookup(b"10.5", 3))  # another radius is another question
    assert len(sent(mocked)) == 2
    now[0] += 1.0  # the first answer is 30 s old: expired
    await places.nearby(lookup(b"10", 3))
    assert len(sent(mocked)) == 3
    await places.aclose()


async def test_cache_is_off_by_default(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(2), repeat=True)
    places = client("legacy", clock=lambda: 0.0)
    await places.nearby(lookup())
    await places.nearby(lookup())
    assert len(sent(mocked)) == 2
    await places.aclose()


async def test_error_answers_are_not_cached(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, payload=legacy_body(0, "OVER_QUERY_LIMIT"), repeat=True)
    mocked.post(
        NEW_URL, status=429, payload={"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, repeat=True
    )
    for provider in ("legacy", "new"):
        places = client(provider, cache_ttl_s=60.0, clock=lambda: 0.0)
        await places.nearby(lookup())
        await places.nearby(lookup())
        await places.aclose()
    assert len(sent(mocked)) == 4


async def test_a_failure_reaches_every_waiter_and_is_not_remembered(mocked: aioresponses) -> None:
    mocked.get(LEGACY_URL, exception=aiohttp.ClientConnectionError("down"))
    mocked.get(LEGACY_URL, payload=legacy_body(1))
    places = client("legacy", cache_ttl_s=60.0, clock=lambda: 0.0)
    results = await asyncio.gather(places.nearby(lookup()), places.nearby(lookup()), return_exceptions=True)
    assert all(isinstance(result, PlacesError) for result in results)
    assert parse_reply_json(await places.nearby(lookup()))["status"] == "OK"
    await places.aclose()


# ---- the in-process fixture --------------------------------------------------------------


@pytest.mark.parametrize("shape", ["legacy", "native"])
async def test_fixture_provider_is_deterministic_bounded_and_inside_the_radius(shape: str) -> None:
    places = FixturePlacesClient(shape=shape)  # type: ignore[arg-type]
    everything = parse_reply_json(await places.nearby(lookup(b"3", 20)))
    again = parse_reply_json(await FixturePlacesClient(shape=shape).nearby(lookup(b"3", 20)))  # type: ignore[arg-type]
    assert everything == again
    few = parse_reply_json(await places.nearby(lookup(b"3", 4)))
    key = "results" if shape == "legacy" else "places"
    assert few[key] == everything[key][:4]
    assert len(everything[key]) == 20
    for place in everything[key]:
        if shape == "legacy":
            point = place["geometry"]["location"]["lat"], place["geometry"]["location"]["lng"]
        else:
            point = place["location"]["latitude"], place["location"]["longitude"]
        assert haversine_m(34.068930, -118.445127, *point) <= 3000
    if shape == "legacy":
        assert everything["status"] == "OK"
    else:
        assert set(everything["places"][0]) <= NEW_PLACE_FIELDS


# ---- the JSON writer ---------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), JSON_VALUES, max_size=5))
def test_render_json_writes_exactly_what_json_dumps_writes(document: dict[str, Any]) -> None:
    expected = json.dumps(document, indent=3, separators=(",", " : "), ensure_ascii=False)
    assert render_json(document) == expected.encode("utf-8")


def test_render_json_refuses_what_is_not_json() -> None:
    for bad in ({"x": float("nan")}, {"x": object()}, {"x": {1: 2}}):
        with pytest.raises(TypeError):
            render_json(bad)


@pytest.mark.parametrize("shape", ["legacy", "native"])
async def test_fixture_fast_path_matches_rendering_the_whole_answer(shape: str) -> None:
    places = FixturePlacesClient(shape=shape)  # type: ignore[arg-type]
    generated = generate_places(-33.8670522, 151.1957362, 2500.0)
    for bound in range(1, 21):
        reply = await places.nearby(lookup(b"2.5", bound, latitude="-33.8670522", longitude="151.1957362"))
        if shape == "legacy":
            expected: Any = legacy_response(generated[:bound])
        else:
            expected = new_response(generated[:bound], FIELD_MASK_FIELDS)
        assert reply == json.dumps(expected, indent=3, separators=(",", " : "), ensure_ascii=False).encode()


async def test_waiting_for_a_free_slot_is_bounded_by_the_timeout(mocked: aioresponses) -> None:
    gate = Gate(legacy_body(1))
    mocked.get(LEGACY_URL, callback=gate.respond, repeat=True)
    places = client("legacy", max_concurrent=1, timeout_s=0.05)
    stuck = asyncio.create_task(places.nearby(lookup(b"1")))
    await gate.wait_arrived(1)
    with pytest.raises(PlacesError, match="1 requests in flight"):
        await places.nearby(lookup(b"2"))
    gate.open.set()
    assert parse_reply_json(await stuck)["status"] == "OK"
    # The slot was given back: the next request goes through.
    assert parse_reply_json(await places.nearby(lookup(b"3")))["status"] == "OK"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('api_key = "AIza-secret-value"', "places.api_key is not allowed"),
        ("colour = 1", "places has unknown keys: colour"),
        ("timeout_s = 0", "places.timeout_s must be a positive"),
        ("timeout_s = -1.5", "places.timeout_s must be a positive"),
        ("connect_timeout_s = 0", "places.connect_timeout_s must be a positive"),
        ("max_concurrent = 0", "places.max_concurrent must be at least 1"),
        ("cache_ttl_s = -1", "places.cache_ttl_s must be"),
        ("cache_ttl_s = inf", "places.cache_ttl_s must be"),
    ],
)
def test_places_settings_that_cannot_work_are_config_errors(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        parse_config(f"[servers]\nA = {{ port = 1 }}\n[places]\n{line}\n")
    assert "AIza-secret-value" not in str(caught.value)


def test_places_settings_are_read_from_the_herd_file() -> None:
    config = parse_config(
        "[servers]\nA = { port = 1 }\n[places]\n"
        'provider = "new"\nshape = "native"\nbase_url = "http://127.0.0.1:8"\n'
        "timeout_s = 2\nconnect_timeout_s = 0.5\nmax_concurrent = 3\ncache_ttl_s = 10\n"
    )
    assert config.places == PlacesSettings(
        provider="new",
        shape="native",
        base_url="http://127.0.0.1:8",
        timeout_s=2.0,
        connect_timeout_s=0.5,
        max_concurrent=3,
        cache_ttl_s=10.0,
    )


# ---- LIMIT-6 --------------------------------------------------------------------------------


@pytest.fixture
async def google_on_loopback() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A real legacy endpoint on loopback (aioresponses cannot feed a body this large): it
    answers each request with the next body of the list the test fills."""
    from aiohttp import web

    bodies: list[bytes] = []

    async def nearby(request: web.Request) -> web.Response:
        return web.Response(body=bodies.pop(0), content_type="application/json")

    app = web.Application()
    app.router.add_get("/maps/api/place/nearbysearch/json", nearby)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", bodies
    await runner.cleanup()


def loopback_client(base_url: str, **settings: Any) -> Any:
    made = make_places_client(
        PlacesSettings(provider="legacy", base_url=base_url, **settings), name="Bailey", environ=ENV
    )
    _made.append(made)
    return made


async def test_an_answer_over_the_size_limit_is_a_places_failure(
    google_on_loopback: tuple[str, list[bytes]],
) -> None:
    # LIMIT-6: the body is read in chunks and given up on past max_response_bytes.
    base_url, bodies = google_on_loopback
    huge = legacy_body(1)
    huge["padding"] = "p" * 200_000
    bodies.append(json.dumps(huge).encode())
    places = loopback_client(base_url, max_response_bytes=100_000)
    with pytest.raises(PlacesError, match="over the limit of 100000"):
        await places.nearby(lookup())


async def test_a_large_answer_is_parsed_off_the_event_loop(
    google_on_loopback: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    base_url, bodies = google_on_loopback
    big = legacy_body(3)
    big["padding"] = "p" * 300_000  # over the on-loop parsing size, under the size limit
    small = legacy_body(3)
    bodies += [json.dumps(big).encode(), json.dumps(small).encode()]
    places = loopback_client(base_url)
    parsed_on_loop: list[bool] = []
    real_parse = places._parse

    def parse_and_note_thread(*args: Any) -> Any:
        parsed_on_loop.append(threading.current_thread() is threading.main_thread())
        return real_parse(*args)

    monkeypatch.setattr(places, "_parse", parse_and_note_thread)
    assert parse_reply_json(await places.nearby(lookup()))["padding"] == big["padding"]
    assert parse_reply_json(await places.nearby(lookup(radius_km=b"11")))["results"] == small["results"]
    assert parsed_on_loop == [False, True]  # the big one in a worker thread, the small one on the loop
