"""WHATSAT end to end: a real ``herdref serve`` asking a real ``herdref places-fixture`` process
over loopback HTTP, through each provider (legacy; New in the legacy shape; New native)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from herdref.herd.config import PlacesSettings

from .herd_harness import Herd, running_herd, write_herd_file

# One pytest-xdist worker runs this module: its tests share the fixture process and the herds.
pytestmark = pytest.mark.xdist_group("places_e2e")

KEY = "e2e-places-key-4f1c9a77d2b05e6a"
ENV = {"HERDREF_PLACES_API_KEY": KEY}
NAME = "Bailey"
#: Short, so a hung fixture costs each test one second; loopback answers in milliseconds.
PLACES_TIMEOUT_S = 1.0

CONFIGS = {
    "legacy": {"provider": "legacy"},
    "new-legacy-shape": {"provider": "new", "shape": "legacy"},
    "new-native": {"provider": "new", "shape": "native"},
}


class Fixture:
    """The ``herdref places-fixture`` process and its control endpoints."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method="GET" if body is None else "POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        recorded: list[dict[str, Any]] = self._call("/_fixture/requests")
        return recorded

    def reset(self) -> None:
        self._call("/_fixture/reset", {})

    def set_fault(self, mode: str, latency_s: float = 0.0) -> None:
        self._call("/_fixture/fault", {"mode": mode, "latency_s": latency_s})


@pytest.fixture(scope="module")
def fixture() -> Iterator[Fixture]:
    process = subprocess.Popen(
        [sys.executable, "-m", "herdref", "places-fixture", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("places fixture listening on "), line
        yield Fixture(process, line.split(" on ", 1)[1].strip())
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def herd_file(directory: Path, places: dict[str, str]) -> Path:
    settings = PlacesSettings(**places, timeout_s=PLACES_TIMEOUT_S)  # type: ignore[arg-type]
    return write_herd_file(directory, names=[NAME], links=[], places=settings)


@pytest.fixture(scope="module", params=list(CONFIGS))
def herd(
    request: pytest.FixtureRequest, fixture: Fixture, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Herd, str]]:
    places = {**CONFIGS[request.param], "base_url": fixture.base_url}
    path = herd_file(tmp_path_factory.mktemp(request.param), places)
    with running_herd(path, env=ENV) as running:
        yield running, request.param


@pytest.fixture
def places(herd: tuple[Herd, str], fixture: Fixture) -> Iterator[tuple[Herd, str, Fixture]]:
    fixture.reset()
    yield herd[0], herd[1], fixture
    fixture.reset()


def split_reply(reply: bytes, at_line: bytes) -> Any:
    """WHATSAT-5/6: the stored AT line, LF, JSON with no empty line, LF LF."""
    assert reply.startswith(at_line + b"\n"), reply[:200]
    assert reply.endswith(b"}\n\n") and not reply.endswith(b"\n\n\n"), reply[-40:]
    body = reply[len(at_line) + 1 : -2]
    assert b"\n\n" not in body
    return json.loads(body)


def places_of(document: Any, config: str) -> list[Any]:
    if config == "new-native":
        assert set(document) == {"places"}
        return list(document["places"])
    assert document["status"] == "OK" and document["html_attributions"] == []
    return list(document["results"])


def sent_circle(request: dict[str, Any]) -> tuple[Decimal, str, str]:
    """(radius, latitude, longitude) as the fixture received them, either API."""
    if request["method"] == "GET":
        latitude, longitude = request["query"]["location"].split(",")
        return Decimal(request["query"]["radius"]), latitude, longitude
    circle = request["json"]["locationRestriction"]["circle"]
    center = circle["center"]
    return Decimal(str(circle["radius"])), str(center["latitude"]), str(center["longitude"])


def test_whatsat_reply_holds_the_stored_line_and_bound_places(places: tuple[Herd, str, Fixture]) -> None:
    herd, config, fixture = places
    at_line = herd.iamat(NAME, "kiwi.e2e", "+34.068930-118.445127")
    for bound in (5, 1, 20):
        document = split_reply(herd.send(NAME, b"WHATSAT kiwi.e2e 10 %d\n" % bound), at_line)
        assert len(places_of(document, config)) == bound  # the fixture has 20 to give
    recorded = fixture.requests()
    assert len(recorded) == 3  # one Places call per WHATSAT
    for request in recorded:
        radius, latitude, longitude = sent_circle(request)
        assert radius == 10_000  # PLACES-2: metres
        assert Decimal(latitude) == Decimal("34.068930") and Decimal(longitude) == Decimal("-118.445127")
        assert request["key_sha256"] == hashlib.sha256(KEY.encode()).hexdigest()
    if config == "legacy":
        assert all(request["path"] == "/maps/api/place/nearbysearch/json" for request in recorded)
    else:
        assert [request["json"]["maxResultCount"] for request in recorded] == [5, 1, 20]


def test_decimal_radius_and_signs_reach_the_fixture_exactly(places: tuple[Herd, str, Fixture]) -> None:
    herd, config, fixture = places
    at_line = herd.iamat(NAME, "sydney.e2e", "-33.8670522+151.1957362")
    split_reply(herd.send(NAME, b"WHATSAT sydney.e2e 2.5 3\n"), at_line)
    (request,) = fixture.requests()
    radius, latitude, longitude = sent_circle(request)
    assert radius == 2500
    assert (Decimal(latitude), Decimal(longitude)) == (Decimal("-33.8670522"), Decimal("151.1957362"))
    if config == "legacy":
        # A raw '+' would have reached the fixture as a space.
        assert "+" not in request["raw_query"]
        assert request["query"]["location"] == "-33.8670522,151.1957362"


def test_bound_zero_makes_no_places_call(places: tuple[Herd, str, Fixture]) -> None:
    herd, config, fixture = places
    at_line = herd.iamat(NAME, "zero.e2e")
    document = split_reply(herd.send(NAME, b"WHATSAT zero.e2e 10 0\n"), at_line)
    assert places_of(document, config) == []
    assert fixture.requests() == []


@pytest.mark.parametrize("fault", ["http_500", "malformed_json", "hang"])
def test_a_places_failure_is_a_question_mark_and_the_server_keeps_answering(
    places: tuple[Herd, str, Fixture], fault: str
) -> None:
    herd, config, fixture = places
    at_line = herd.iamat(NAME, f"{fault}.e2e")
    fixture.set_fault(fault)
    line = f"WHATSAT {fault}.e2e 10 2".encode()
    assert herd.send(NAME, line + b"\n", timeout_s=PLACES_TIMEOUT_S + 5) == b"? " + line + b"\n"
    assert len(fixture.requests()) == 1
    fixture.reset()
    assert herd.iamat(NAME, "after.e2e").startswith(b"AT " + NAME.encode())
    document = split_reply(herd.send(NAME, line + b"\n"), at_line)
    assert len(places_of(document, config)) == 2


def test_a_google_error_is_passed_through(places: tuple[Herd, str, Fixture]) -> None:
    herd, config, fixture = places
    at_line = herd.iamat(NAME, "quota.e2e")
    fixture.set_fault("over_query_limit")
    document = split_reply(herd.send(NAME, b"WHATSAT quota.e2e 10 2\n"), at_line)
    if config == "new-native":
        assert document["error"]["status"] == "RESOURCE_EXHAUSTED"
    else:
        assert document["status"] == "OVER_QUERY_LIMIT" and document["results"] == []


@pytest.mark.parametrize("config", ["legacy", "new-legacy-shape"])
def test_the_api_key_never_reaches_a_reply_a_log_or_stderr(
    fixture: Fixture, tmp_path: Path, config: str
) -> None:
    fixture.reset()
    path = herd_file(tmp_path, {**CONFIGS[config], "base_url": fixture.base_url})
    with running_herd(path, env=ENV) as herd:
        at_line = herd.iamat(NAME, "secret.e2e")
        # The fixture's request_denied echoes the key it was sent, as a careless API might.
        fixture.set_fault("request_denied")
        denied = split_reply(herd.send(NAME, b"WHATSAT secret.e2e 10 2\n"), at_line)
        assert denied["status"] == "REQUEST_DENIED" and "<redacted>" in denied["error_message"]
        fixture.set_fault("hang")  # a timeout: the server logs the failed request's URL
        assert herd.send(NAME, b"WHATSAT secret.e2e 10 2\n", timeout_s=PLACES_TIMEOUT_S + 5).startswith(b"? ")
        fixture.set_fault("http_500")
        assert herd.send(NAME, b"WHATSAT secret.e2e 10 2\n").startswith(b"? ")
        fixture.reset()
        herd.kill(NAME, signal.SIGTERM)
        process = herd.processes[NAME]
        assert process.stderr is not None
        stderr = process.stderr.read()
    assert b"Places" in stderr  # the failures were logged...
    assert KEY.encode() not in stderr  # ...without the key
    assert KEY.encode() not in json.dumps(denied).encode()
    logs = list((tmp_path / "logs").glob("*.log"))
    assert logs
    for log in logs:
        assert KEY.encode() not in log.read_bytes()
