"""The HTTP Places fixture over real loopback HTTP: Google's validation rules, every fault
mode, the request record, determinism, places inside the radius, the thread handle and the
``herdref places-fixture`` command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from yarl import URL

from herdref.places.fixture import FAULT_MODES, FixtureServer, run_fixture_in_thread
from herdref.places.fixture_app import ENDPOINTS, LEGACY_PATH
from herdref.places.fixture_data import NEW_PLACE_FIELDS, generate_places, haversine_m, legacy_response

KEY = "fixture-test-key-0123456789"
LAT, LNG = 34.068930, -118.445127
FULL_MASK = "places.id,places.displayName,places.location,places.types"


@pytest.fixture
async def fixture() -> AsyncIterator[FixtureServer]:
    server = await FixtureServer.start("127.0.0.1", 0)
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


async def legacy_get(
    http: aiohttp.ClientSession, fixture: FixtureServer, **params: str
) -> tuple[int, str, Any]:
    query = {"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY, **params}
    query = {name: value for name, value in query.items() if value is not None}
    # encoded=True: the query goes out byte for byte as urlencode made it (',' as %2C).
    url = URL(f"{fixture.base_url}/maps/api/place/nearbysearch/json?{urlencode(query)}", encoded=True)
    async with http.get(url) as response:
        text = await response.text()
        return response.status, response.content_type, _maybe_json(text)


def new_body(radius: Any = 1000, count: Any = 20, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "locationRestriction": {"circle": {"center": {"latitude": LAT, "longitude": LNG}, "radius": radius}},
        "maxResultCount": count,
    }
    body.update(extra)
    return body


async def new_post(
    http: aiohttp.ClientSession,
    fixture: FixtureServer,
    body: Any = None,
    *,
    key: str | None = KEY,
    mask: str | None = FULL_MASK,
    raw: bytes | None = None,
    query: str = "",
) -> tuple[int, str, Any]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Goog-Api-Key"] = key
    if mask is not None:
        headers["X-Goog-FieldMask"] = mask
    data = raw if raw is not None else json.dumps(new_body() if body is None else body).encode()
    async with http.post(
        f"{fixture.base_url}/v1/places:searchNearby{query}", data=data, headers=headers
    ) as response:
        text = await response.text()
        return response.status, response.content_type, _maybe_json(text)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# ---- answers -----------------------------------------------------------------------------


async def test_legacy_answer_is_twenty_places_inside_the_radius(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    status, content_type, body = await legacy_get(http, fixture, radius="1500")
    assert (status, content_type) == (200, "application/json")
    assert body["status"] == "OK"
    assert body["html_attributions"] == []
    assert len(body["results"]) == 20
    for result in body["results"]:
        location = result["geometry"]["location"]
        assert haversine_m(LAT, LNG, location["lat"], location["lng"]) <= 1500
        assert {"name", "place_id", "vicinity", "types", "business_status"} <= set(result)


async def test_same_point_gives_the_same_places_through_both_apis(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    _, _, first = await legacy_get(http, fixture)
    _, _, second = await legacy_get(http, fixture)
    assert first == second
    _, _, new = await new_post(http, fixture)
    assert [place["id"] for place in new["places"]] == [result["place_id"] for result in first["results"]]
    assert [place["displayName"]["text"] for place in new["places"]] == [r["name"] for r in first["results"]]
    # And the same as the generator the in-process provider uses.
    assert first == json.loads(json.dumps(legacy_response(generate_places(LAT, LNG, 1000.0))))


async def test_another_point_gives_other_places(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    _, _, here = await legacy_get(http, fixture)
    _, _, there = await legacy_get(http, fixture, location="48.858370,2.294481")
    assert {r["place_id"] for r in here["results"]}.isdisjoint({r["place_id"] for r in there["results"]})


@pytest.mark.parametrize(
    ("latitude", "longitude", "radius_m"),
    [(0.0, 0.0, 50_000.0), (89.99, 10.0, 30_000.0), (-45.5, 179.999, 20_000.0), (10.0, -180.0, 0.5)],
)
def test_generated_places_stay_inside_the_circle_near_poles_and_the_antimeridian(
    latitude: float, longitude: float, radius_m: float
) -> None:
    for place in generate_places(latitude, longitude, radius_m):
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180
        assert haversine_m(latitude, longitude, place.latitude, place.longitude) <= radius_m


async def test_new_answer_honours_max_result_count_and_the_field_mask(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    status, _, body = await new_post(
        http, fixture, new_body(count=3), mask="places.displayName,places.location"
    )
    assert status == 200
    assert len(body["places"]) == 3
    assert all(set(place) == {"displayName", "location"} for place in body["places"])
    _, _, everything = await new_post(http, fixture, new_body(count=1), mask="*")
    assert {"id", "name", "types", "rating", "userRatingCount"} <= set(everything["places"][0])
    assert set(everything["places"][0]) <= NEW_PLACE_FIELDS
    # Google also takes the mask as the ``fields`` URL parameter.
    status, _, body = await new_post(http, fixture, mask=None, query="?fields=places.id")
    assert status == 200 and set(body["places"][0]) == {"id"}


# ---- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", None])
async def test_legacy_without_a_key_is_request_denied_with_http_200(
    fixture: FixtureServer, http: aiohttp.ClientSession, key: str | None
) -> None:
    status, _, body = await legacy_get(http, fixture, key=key)  # type: ignore[arg-type]
    assert status == 200
    assert body["status"] == "REQUEST_DENIED"
    assert body["results"] == [] and "error_message" in body


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("radius", "50001"),
        ("radius", "0"),
        ("radius", "-5"),
        ("radius", "abc"),
        ("radius", "1e3"),
        ("radius", ""),
        ("radius", None),
        ("location", "34.0"),
        ("location", "abc,def"),
        ("location", "34.068930 -118.445127"),
        ("location", "+ 34.068930,-118.445127"),
        ("location", "91,0"),
        ("location", "0,181"),
        ("location", None),
    ],
)
async def test_legacy_bad_parameters_are_invalid_request(
    fixture: FixtureServer, http: aiohttp.ClientSession, name: str, value: str | None
) -> None:
    status, _, body = await legacy_get(http, fixture, **{name: value})  # type: ignore[arg-type]
    assert status == 200
    assert body["status"] == "INVALID_REQUEST"


@pytest.mark.parametrize(
    "location", ["+34.068930,-118.445127", "%2B34.068930,-118.445127", "34.068930,+118.445127"]
)
async def test_legacy_raw_plus_in_the_location_is_accepted_as_google_does(
    fixture: FixtureServer, http: aiohttp.ClientSession, location: str
) -> None:
    # A raw '+' decodes to a space; Google takes the point all the same (cause 9 of issue 11:
    # a fixture that refused it made WHATSAT checks pass on zero results).
    path = "/maps/api/place/nearbysearch/json"
    raw = f"{fixture.base_url}{path}?location={location}&radius=1000&key={KEY}"
    async with http.get(URL(raw, encoded=True)) as response:
        body = await response.json()
    latitude, longitude = location.replace("%2B", "+").split(",")
    expected = legacy_response(generate_places(float(latitude), float(longitude), 1000.0))
    assert body == json.loads(json.dumps(expected))
    assert body["status"] == "OK"


@pytest.mark.parametrize("radius", ["50000", "0.5", "1"])
async def test_legacy_radius_limits_that_are_valid(
    fixture: FixtureServer, http: aiohttp.ClientSession, radius: str
) -> None:
    _, _, body = await legacy_get(http, fixture, radius=radius)
    assert body["status"] == "OK"


async def test_new_without_a_key_is_403_permission_denied(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    status, _, body = await new_post(http, fixture, key=None)
    assert status == 403
    assert body["error"]["status"] == "PERMISSION_DENIED" and body["error"]["code"] == 403


async def test_new_without_a_field_mask_is_400(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    status, _, body = await new_post(http, fixture, mask=None)
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["message"].startswith("FieldMask is a required parameter")


@pytest.mark.parametrize("mask", ["places.noSuchField", "routes.id", "pla", "places."])
async def test_new_with_an_unknown_field_mask_path_is_400(
    fixture: FixtureServer, http: aiohttp.ClientSession, mask: str
) -> None:
    status, _, body = await new_post(http, fixture, mask=mask)
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "body",
    [
        new_body(radius=0),
        new_body(radius=-1),
        new_body(radius=50_000.5),
        new_body(radius="10"),
        new_body(count=0),
        new_body(count=21),
        new_body(count=1.5),
        new_body(count=True),
        new_body(unknownField=1),
        {"maxResultCount": 5},
        {"locationRestriction": {"circle": {"center": {"latitude": 95, "longitude": 0}, "radius": 10}}},
        [1, 2],
    ],
)
async def test_new_bad_bodies_are_400_invalid_argument(
    fixture: FixtureServer, http: aiohttp.ClientSession, body: Any
) -> None:
    status, _, answer = await new_post(http, fixture, body)
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"


async def test_new_body_that_is_not_json_is_400(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    status, _, answer = await new_post(http, fixture, raw=b"{not json")
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"


async def test_new_radius_at_the_limit_and_default_count(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    body = new_body(radius=50_000)
    del body["maxResultCount"]
    status, _, answer = await new_post(http, fixture, body)
    assert status == 200 and len(answer["places"]) == 20


# ---- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["legacy", "new"])
async def test_fault_http_500_is_an_html_page(
    fixture: FixtureServer, http: aiohttp.ClientSession, api: str
) -> None:
    fixture.state.set_fault("http_500")
    status, content_type, body = await (
        legacy_get(http, fixture) if api == "legacy" else new_post(http, fixture)
    )
    assert (status, content_type) == (500, "text/html")
    assert isinstance(body, str) and "500" in body


@pytest.mark.parametrize("api", ["legacy", "new"])
async def test_fault_malformed_json_is_cut_off(
    fixture: FixtureServer, http: aiohttp.ClientSession, api: str
) -> None:
    fixture.state.set_fault("malformed_json")
    status, content_type, body = await (
        legacy_get(http, fixture) if api == "legacy" else new_post(http, fixture)
    )
    assert (status, content_type) == (200, "application/json")
    assert isinstance(body, str) and body.startswith("{")  # it did not parse


@pytest.mark.parametrize("api", ["legacy", "new"])
async def test_fault_blank_lines_is_the_same_json_spaced_out(
    fixture: FixtureServer, http: aiohttp.ClientSession, api: str
) -> None:
    # WHATSAT-6: the course has a herd squeeze runs of newlines in Google's JSON; this answer
    # has them, and is the same JSON document as ever.
    _, _, plain = await (legacy_get(http, fixture) if api == "legacy" else new_post(http, fixture))
    fixture.state.set_fault("blank_lines")
    if api == "legacy":
        query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY})
        answer = http.get(URL(f"{fixture.base_url}{LEGACY_PATH}?{query}", encoded=True))
    else:
        headers = {"X-Goog-Api-Key": KEY, "X-Goog-FieldMask": FULL_MASK}
        answer = http.post(f"{fixture.base_url}/v1/places:searchNearby", json=new_body(), headers=headers)
    async with answer as response:
        text = await response.text()
    assert ",\n\n" in text
    assert json.loads(text) == plain


async def test_fault_over_query_limit(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    fixture.state.set_fault("over_query_limit")
    status, _, body = await legacy_get(http, fixture)
    assert status == 200 and body["status"] == "OVER_QUERY_LIMIT"
    status, _, body = await new_post(http, fixture)
    assert status == 429 and body["error"]["status"] == "RESOURCE_EXHAUSTED"


async def test_fault_request_denied_echoes_the_key(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    fixture.state.set_fault("request_denied")
    status, _, body = await legacy_get(http, fixture)
    assert status == 200 and body["status"] == "REQUEST_DENIED" and KEY in body["error_message"]
    status, _, body = await new_post(http, fixture)
    assert (
        status == 403 and body["error"]["status"] == "PERMISSION_DENIED" and KEY in body["error"]["message"]
    )


async def test_fault_zero_results(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    fixture.state.set_fault("zero_results")
    _, _, body = await legacy_get(http, fixture)
    assert body == {"html_attributions": [], "results": [], "status": "ZERO_RESULTS"}
    status, _, body = await new_post(http, fixture)
    assert (status, body) == (200, {})


async def test_fault_latency_delays_every_answer(fixture: FixtureServer, http: aiohttp.ClientSession) -> None:
    fixture.state.set_fault("latency", latency_s=0.2)
    started = time.monotonic()
    _, _, body = await legacy_get(http, fixture)
    assert time.monotonic() - started >= 0.2
    assert body["status"] == "OK"


async def wait_recorded(fixture: FixtureServer, count: int) -> None:
    async with asyncio.timeout(5):
        while len(fixture.state.requests()) < count:  # noqa: ASYNC110 (the record has no event)
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("api", ["legacy", "new"])
async def test_fault_hang_holds_the_request_until_the_fault_changes(
    fixture: FixtureServer, http: aiohttp.ClientSession, api: str
) -> None:
    fixture.state.set_fault("hang")
    pending = asyncio.create_task(legacy_get(http, fixture) if api == "legacy" else new_post(http, fixture))
    await wait_recorded(fixture, 1)
    done, _ = await asyncio.wait({pending}, timeout=0.2)
    assert not done, "a hung request was answered"
    fixture.state.set_fault("none")
    status, _, body = await asyncio.wait_for(pending, 5)
    assert status == 200 and (body.get("status") == "OK" or "places" in body)


async def test_closing_the_fixture_releases_hung_requests(http: aiohttp.ClientSession) -> None:
    server = await FixtureServer.start("127.0.0.1", 0, mode="hang")
    pending = asyncio.create_task(legacy_get(http, server))
    await wait_recorded(server, 1)
    async with asyncio.timeout(5):
        await server.close()
    (outcome,) = await asyncio.wait_for(asyncio.gather(pending, return_exceptions=True), 5)
    # Released, not answered: the connection drops or the answer is 503, never places.
    assert isinstance(outcome, aiohttp.ClientError) or outcome[0] == 503, outcome


# ---- control endpoints and the record ---------------------------------------------------


async def test_control_endpoints_set_and_reset_the_fault(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{fixture.base_url}/_fixture/fault", json={"mode": "zero_results", "latency_s": 0.01}
    ) as r:
        assert (r.status, await r.json()) == (200, {"mode": "zero_results", "latency_s": 0.01})
    assert fixture.state.fault() == {"mode": "zero_results", "latency_s": 0.01}
    await legacy_get(http, fixture)
    async with http.get(f"{fixture.base_url}/_fixture/requests") as r:
        recorded = await r.json()
    assert [entry["path"] for entry in recorded] == ["/maps/api/place/nearbysearch/json"]
    async with http.post(f"{fixture.base_url}/_fixture/reset") as r:
        assert r.status == 200
    assert fixture.state.fault() == {"mode": "none", "latency_s": 0.0}
    async with http.get(f"{fixture.base_url}/_fixture/requests") as r:
        assert await r.json() == []


@pytest.mark.parametrize(
    "body",
    [{"mode": "explode"}, {"mode": "latency", "latency_s": -1}, {"mode": "none", "latency_s": "x"}, [1]],
)
async def test_control_fault_rejects_bad_settings(
    fixture: FixtureServer, http: aiohttp.ClientSession, body: Any
) -> None:
    async with http.post(f"{fixture.base_url}/_fixture/fault", json=body) as response:
        assert response.status == 400
        assert "error" in await response.json()
    assert fixture.state.fault() == {"mode": "none", "latency_s": 0.0}


async def test_every_request_is_recorded_without_the_key(
    fixture: FixtureServer, http: aiohttp.ClientSession
) -> None:
    before = time.time()
    await legacy_get(http, fixture, radius="2500")
    await new_post(http, fixture, new_body(radius=750, count=4))
    after = time.time()
    legacy, new = fixture.state.requests()
    assert (legacy["method"], legacy["path"]) == ("GET", "/maps/api/place/nearbysearch/json")
    assert legacy["query"] == {"location": f"{LAT},{LNG}", "radius": "2500", "key": "<redacted>"}
    assert "key=<redacted>" in legacy["raw_query"] and "%2C" in legacy["raw_query"]
    assert (new["method"], new["path"]) == ("POST", "/v1/places:searchNearby")
    assert new["json"] == new_body(radius=750, count=4)
    assert new["headers"]["X-Goog-Api-Key"] == "<redacted>"
    assert new["headers"]["X-Goog-FieldMask"] == FULL_MASK
    for entry in (legacy, new):
        assert entry["key_sha256"] == hashlib.sha256(KEY.encode()).hexdigest()
        assert before <= entry["time"] <= after
    assert KEY not in json.dumps(fixture.state.requests())


# ---- the thread handle and the command --------------------------------------------------


def fetch(url: str, data: bytes | None = None) -> Any:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def raw_http(port: int, request: bytes) -> tuple[int, Any]:
    """Send one raw HTTP/1.1 request (exactly these octets) and read the answer to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, json.loads(body)


def _dechunk(body: bytes) -> bytes:
    data = b""
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return data
        data, body = data + rest[:size], rest[size + 2 :]


def _new_request_head(port: int, framing: bytes) -> bytes:
    return (
        b"POST /v1/places:searchNearby HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nX-Goog-Api-Key: %s\r\nX-Goog-FieldMask: %s\r\n%s\r\n"
        % (port, KEY.encode(), FULL_MASK.encode(), framing)
    )


def test_new_body_with_content_length_is_read() -> None:
    body = json.dumps(new_body(count=3)).encode()
    with run_fixture_in_thread() as fixture:
        request = _new_request_head(fixture.port, b"Content-Length: %d\r\n" % len(body)) + body
        status, answer = raw_http(fixture.port, request)
        recorded = fixture.requests()
    assert status == 200
    assert len(answer["places"]) == 3
    assert recorded[0]["json"] == json.loads(body)


def test_new_body_in_chunks_is_read() -> None:
    # Transfer-Encoding: chunked, as an HTTP client streaming its body sends it; the chunks cut
    # the JSON in the middle of a key and of a number.
    body = json.dumps(new_body(count=4)).encode()
    pieces = [body[:7], body[7:40], body[40:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    with run_fixture_in_thread() as fixture:
        status, answer = raw_http(
            fixture.port, _new_request_head(fixture.port, b"Transfer-Encoding: chunked\r\n") + chunked
        )
        recorded = fixture.requests()
    assert status == 200
    assert [place["id"] for place in answer["places"]] == [
        place.place_id for place in generate_places(LAT, LNG, 1000.0)[:4]
    ]
    assert recorded[0]["headers"].get("Transfer-Encoding") == "chunked"
    assert recorded[0]["json"] == json.loads(body)


def test_a_request_head_with_bare_lf_line_ends_is_answered_as_google_answers_it() -> None:
    # A raw-socket herd's hand-written "GET ... HTTP/1.1\nHost: ...\n\n": Google answers it;
    # aiohttp alone refuses it with 400 "Expected CRLF".
    query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY}).encode()
    head = b"GET /maps/api/place/nearbysearch/json?%s HTTP/1.1\nHost: maps.googleapis.com\n" % query
    with run_fixture_in_thread() as fixture:
        lf_status, lf_answer = raw_http(fixture.port, head + b"Connection: close\n\n")
        crlf_status, crlf_answer = raw_http(
            fixture.port, (head + b"Connection: close\n\n").replace(b"\n", b"\r\n")
        )
    assert (lf_status, crlf_status) == (200, 200)
    assert lf_answer == crlf_answer and len(lf_answer["results"]) == 20


def test_an_absolute_target_without_host_is_answered_as_google_answers_it() -> None:
    # A raw-socket herd's "GET https://maps.googleapis.com/...?... HTTP/1.1" with no Host field:
    # Google takes the host from the target (RFC 9112 3.2.2); aiohttp alone refuses it with 400
    # "Missing 'Host' header".
    query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY}).encode()
    target = b"https://maps.googleapis.com/maps/api/place/nearbysearch/json?%s" % query
    with run_fixture_in_thread() as fixture:
        status, answer = raw_http(fixture.port, b"GET %s HTTP/1.1\r\nConnection: close\r\n\r\n" % target)
        recorded = fixture.requests()
    assert status == 200
    assert len(answer["results"]) == 20
    assert recorded[0]["path"] == "/maps/api/place/nearbysearch/json"


def _raw_answer_until_quiet(port: int, request: bytes) -> bytes:
    """The octets answered to ``request`` on a connection the client keeps open, read until the
    fixture has sent a complete answer (the chunked body's ``0`` line and empty line) or closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while not answer.endswith(b"\r\n0\r\n\r\n") and (chunk := sock.recv(65536)):
            answer += chunk
    return answer


def test_answers_are_framed_as_google_frames_them() -> None:
    # A raw-socket herd counts two empty lines (the head's, then the chunked body's last) before it
    # answers the WHATSAT: a kept connection gets a chunked body; "Connection: close" gets
    # Content-Length and the close, which a herd reading to EOF needs.
    query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY}).encode()
    head = b"GET /maps/api/place/nearbysearch/json?%s HTTP/1.1\nHost: maps.googleapis.com\n" % query
    with run_fixture_in_thread() as fixture:
        kept = _raw_answer_until_quiet(fixture.port, head + b"\n")
        closed_status, closed_answer = raw_http(fixture.port, head + b"Connection: close\n\n")
    kept_head, _, kept_body = kept.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in kept_head.lower()
    assert kept.count(b"\r\n\r\n") == 2
    assert json.loads(_dechunk(kept_body)) == closed_answer
    assert closed_status == 200 and len(closed_answer["results"]) == 20


def test_bare_lf_heads_keep_their_bodies_and_the_next_request_on_the_connection() -> None:
    # An indented body: its own LFs are body, not head, and must reach the handler unchanged
    # (Content-Length counts them), as must the request after it on the same connection.
    body = json.dumps(new_body(count=2), indent=1).encode()
    first = _new_request_head(0, b"Content-Length: %d\r\n" % len(body)).replace(b"Connection: close\r\n", b"")
    query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY}).encode()
    second = b"GET /maps/api/place/nearbysearch/json?%s HTTP/1.1\nHost: x\nConnection: close\n\n" % query
    with run_fixture_in_thread() as fixture:
        with socket.create_connection(("127.0.0.1", fixture.port), timeout=5) as sock:
            sock.sendall(first.replace(b"\r\n", b"\n") + body + second)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        recorded = fixture.requests()
    assert answer.count(b"HTTP/1.1 200 OK") == 2, answer[:300]
    assert recorded[0]["json"] == json.loads(body)
    assert recorded[1]["path"].endswith("nearbysearch/json")


def test_index_lists_every_endpoint_and_is_not_recorded() -> None:
    with run_fixture_in_thread() as fixture:
        with urllib.request.urlopen(f"{fixture.base_url}/", timeout=5) as response:
            text = response.read().decode()
            content_type = response.headers["Content-Type"]
        recorded = fixture.requests()
    assert content_type.startswith("text/plain")
    for method, path, _ in ENDPOINTS:
        assert f"{method:<4} {path} " in text
    assert recorded == []


def test_thread_handle_serves_records_and_switches_faults() -> None:
    with run_fixture_in_thread() as handle:
        assert handle.base_url.startswith("http://127.0.0.1:")
        url = f"{handle.base_url}/maps/api/place/nearbysearch/json?location=1,2&radius=10&key={KEY}"
        assert fetch(url)["status"] == "OK"
        handle.set_fault("zero_results")
        assert fetch(url)["status"] == "ZERO_RESULTS"
        assert [entry["query"]["radius"] for entry in handle.requests()] == ["10", "10"]
        handle.reset()
        assert handle.requests() == []
        assert fetch(url)["status"] == "OK"
        # The control endpoint and the handle change the same state.
        fetch(f"{handle.base_url}/_fixture/fault", json.dumps({"mode": "over_query_limit"}).encode())
        assert fetch(url)["status"] == "OVER_QUERY_LIMIT"
        with pytest.raises(ValueError, match="unknown fault mode"):
            handle.set_fault("explode")
    with pytest.raises(urllib.error.URLError):
        fetch(url)


def test_thread_handle_on_a_port_in_use_raises() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            run_fixture_in_thread(port=taken.getsockname()[1])


@pytest.fixture
def command() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def start_command(started: list[subprocess.Popen[str]], *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "herdref", "places-fixture", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()  # the command prints it once it listens
    prefix = "places fixture listening on "
    assert line.startswith(prefix), (line, process.stderr.read() if process.stderr else "")
    base_url = line.removeprefix(prefix).strip()
    # Then one line per endpoint, with its full URL.
    listed = [process.stdout.readline().strip() for _ in ENDPOINTS]
    assert [entry.split()[:2] for entry in listed] == [
        [method, base_url + path] for method, path, _ in ENDPOINTS
    ]
    return process, base_url


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_command_serves_then_stops_cleanly_on_a_signal(
    command: list[subprocess.Popen[str]], signum: int
) -> None:
    process, base_url = start_command(command, "--fault", "zero_results", "--latency", "0.01")
    assert fetch(f"{base_url}/_fixture/fault") == {"mode": "zero_results", "latency_s": 0.01}
    fetch(f"{base_url}/_fixture/reset", b"")
    # Another process, same point: the same places (no salted hash in the seed).
    answer = fetch(f"{base_url}/maps/api/place/nearbysearch/json?location={LAT:.6f},{LNG}&radius=1000&key=k")
    assert answer == json.loads(json.dumps(legacy_response(generate_places(LAT, LNG, 1000.0))))
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stderr == ""


def test_command_on_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "herdref", "places-fixture", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in result.stderr


def test_fault_modes_are_the_documented_ones() -> None:
    assert set(FAULT_MODES) == {
        "none",
        "latency",
        "hang",
        "http_500",
        "over_query_limit",
        "request_denied",
        "zero_results",
        "malformed_json",
        "blank_lines",
    }


def test_each_request_is_recorded_with_the_answer_it_got() -> None:
    # A checker compares what a herd passed on with what the fixture said (PLACES-3), so the
    # record keeps the answer, error pages and malformed bodies included.
    with run_fixture_in_thread() as handle:
        url = f"{handle.base_url}/maps/api/place/nearbysearch/json?location=1,2&radius=10&key={KEY}"
        answered = fetch(url)
        handle.set_fault("http_500")
        with pytest.raises(urllib.error.HTTPError):
            fetch(url)
        ok, error_page = handle.requests()
    assert ok["answer_status"] == 200
    assert ok["answer"] is not None and json.loads(ok["answer"]) == answered
    assert error_page["answer_status"] == 500
    assert error_page["answer"] is not None and error_page["answer"].startswith("<!DOCTYPE html>")


def test_the_legacy_head_is_googles_with_the_framing_header_last() -> None:
    # A raw-HTTPS herd finds the word "chunked" and reads the chunk size right after it: on
    # Google's head (Transfer-Encoding last) that works, so it must work on the fixture's.
    query = urlencode({"location": f"{LAT},{LNG}", "radius": "1000", "key": KEY}).encode()
    request = b"GET /maps/api/place/nearbysearch/json?%s HTTP/1.1\r\nHost: maps.googleapis.com\r\n" % query
    with run_fixture_in_thread() as fixture:
        kept = _raw_answer_until_quiet(fixture.port, request + b"\r\n")
        closed = _raw_answer_until_quiet(fixture.port, request + b"Connection: close\r\n\r\n")
    head, _, body = kept.partition(b"\r\n\r\n")
    names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")[1:]]
    assert names == [
        "Content-Type",
        "Date",
        "Pragma",
        "Expires",
        "Cache-Control",
        "Access-Control-Allow-Origin",
        "Server",
        "X-XSS-Protection",
        "X-Frame-Options",
        "Accept-Ranges",
        "Vary",
        "Transfer-Encoding",
    ]
    assert head.split(b"\r\n")[1] == b"Content-Type: application/json; charset=UTF-8"
    after_chunked = kept[kept.index(b"chunked") + len(b"chunked") :].strip()
    size, _, rest = after_chunked.partition(b"\r\n")
    assert json.loads(rest[: int(size, 16)])["status"] == "OK"
    assert json.loads(_dechunk(body))["status"] == "OK"
    closed_names = [line.split(b":", 1)[0] for line in closed.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]]
    assert closed_names[-2:] == [b"Content-Length", b"Connection"]


def test_the_new_api_head_ends_with_the_framing_header() -> None:
    body = json.dumps(new_body(count=3)).encode()
    with run_fixture_in_thread() as fixture:
        request = _new_request_head(fixture.port, b"Content-Length: %d\r\n" % len(body))
        kept = _raw_answer_until_quiet(fixture.port, request.replace(b"Connection: close\r\n", b"") + body)
    head = kept.partition(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 200 OK"
    assert head[1].startswith(b"Content-Type: application/json") and head[2].startswith(b"Date: ")
    assert head[-1] == b"Transfer-Encoding: chunked"


def test_closing_while_connections_arrive_leaves_none_open() -> None:
    # validate and the probes stop the fixture whenever their run ends, a herd's requests still
    # arriving. A connection accepted in the event loop's last pass before the listener closed
    # was dropped by asyncio with its socket open (a ResourceWarning in whichever test the
    # garbage collector found it): before the fix, 35 of 40 such closes left one.
    def connect_and_ask(port: int, stop: threading.Event) -> None:
        while not stop.is_set():
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1) as client,
            ):
                client.sendall(
                    b"GET %s?location=1,2&radius=10&key=k HTTP/1.1\r\nHost: x\r\n\r\n" % LEGACY_PATH.encode()
                )

    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fixture = run_fixture_in_thread()
            fixture.set_fault("latency", latency_s=30.0)  # every request still open at the close
            stop = threading.Event()
            clients = [threading.Thread(target=connect_and_ask, args=(fixture.port, stop)) for _ in range(4)]
            for thread in clients:
                thread.start()
            deadline = time.monotonic() + 30
            while len(fixture.requests()) < 20:  # connections arriving, several held
                assert time.monotonic() < deadline, "the clients' requests never reached the fixture"
                time.sleep(0.005)
            fixture.close()
            stop.set()
            for thread in clients:
                thread.join()
            del fixture
            gc.collect()
        assert [str(item.message) for item in caught if issubclass(item.category, ResourceWarning)] == []
