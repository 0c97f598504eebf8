"""Which of the Places fixture's requests a WHATSAT made.

The fixture logs every request it gets, whichever check is running. A herd may send its Places
request after it has answered, or after it has closed the connection (a WHATSAT whose
connection a half-close ended: an ``asyncio.Protocol`` closes on EOF, and the request's task
goes on), so the request can reach the fixture while the next check runs. "The last request in
the log" is then another check's. A request is attributed by what identifies it instead:

* its centre, compared numerically with the client's stored location (``37.32,19.991`` is the
  centre of ``+37.32+19.9910000``), and its radius in metres when the check knows it;
* a request centred on no location any check has sent in an IAMAT (a location the herd got
  wrong: ``37.3,19.991``) is a stray: it is this WHATSAT's only when it arrived after the
  WHATSAT was sent and no request of its own came.

The wait is on that condition, with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckFailed
from herdref.model.judge import LOCATION_TOLERANCE
from herdref.protocol import ProtocolError, location_degrees

__all__ = [
    "Attribution",
    "attribute_again",
    "centred_on",
    "degrees",
    "in_proportion",
    "misplaced_request",
    "now",
    "request_circle",
    "wait_for_request",
]

#: Coordinates in a Places request, compared as the graders compare echoes.
TOLERANCE: Final = Decimal(LOCATION_TOLERANCE.numerator) / LOCATION_TOLERANCE.denominator


def degrees(location: bytes) -> tuple[Decimal, Decimal] | None:
    """A LOCATION's latitude and longitude, or None when it is not one."""
    try:
        latitude, longitude = location_degrees(location)
    except ProtocolError:
        return None
    return Decimal(latitude), Decimal(longitude)


def _decimal(text: object) -> Decimal | None:
    """A number the herd put in its HTTP request (not a wire field), or None."""
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        return None


def request_circle(request: dict[str, Any]) -> tuple[Decimal | None, tuple[Decimal, Decimal] | None]:
    """Radius and centre of a Places request, legacy (query string) or New (JSON body)."""
    query = request.get("query")
    if isinstance(query, dict) and "radius" in query:
        radius_value, location_value = query.get("radius"), query.get("location")
        radius_text = radius_value[0] if isinstance(radius_value, list) else radius_value
        location_text = location_value[0] if isinstance(location_value, list) else location_value
        centre = None
        if isinstance(location_text, str) and "," in location_text:
            lat_text, lng_text = location_text.split(",", 1)
            lat, lng = _decimal(lat_text), _decimal(lng_text)
            centre = (lat, lng) if lat is not None and lng is not None else None
        return _decimal(radius_text), centre
    body = request.get("json") or request.get("body")
    try:
        parsed: Any = json.loads(body) if isinstance(body, str | bytes) else body
        circle = parsed["locationRestriction"]["circle"]
        centre_json = circle["center"]
        return (
            Decimal(str(circle["radius"])),
            (Decimal(str(centre_json["latitude"])), Decimal(str(centre_json["longitude"]))),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None, None


def centred_on(request: dict[str, Any], point: tuple[Decimal, Decimal]) -> bool:
    """The request's centre is ``point``, to the graders' tolerance."""
    centre = request_circle(request)[1]
    return centre is not None and all(
        abs(seen - sent) <= TOLERANCE for seen, sent in zip(centre, point, strict=True)
    )


@dataclass(slots=True)
class Attribution:
    """The requests the fixture saw for one WHATSAT."""

    #: Centred on the client's location (and of the radius asked for, when one was given).
    own: list[dict[str, Any]] = field(default_factory=list)
    #: Arrived after the WHATSAT was sent, centred on no location any check sent.
    strays: list[dict[str, Any]] = field(default_factory=list)
    #: Every request in the log when the wait ended.
    seen: list[dict[str, Any]] = field(default_factory=list)


def _known(context: CheckContext) -> list[tuple[Decimal, Decimal]]:
    return [point for point in map(degrees, context.target.sent_locations) if point is not None]


def attribute(
    requests: Iterable[dict[str, Any]],
    point: tuple[Decimal, Decimal],
    radius_m: Decimal | None,
    *,
    since: float,
    known: list[tuple[Decimal, Decimal]],
) -> Attribution:
    found = Attribution(seen=list(requests))
    for request in found.seen:
        if centred_on(request, point):
            if radius_m is None or request_circle(request)[0] == radius_m:
                found.own.append(request)
        elif float(request.get("time", 0.0)) >= since and not any(
            centred_on(request, other) for other in known
        ):
            found.strays.append(request)
    return found


def wait_for_request(
    context: CheckContext,
    location: bytes,
    *,
    since: float,
    radius_m: Decimal | None = None,
    wait_s: float | None = None,
) -> Attribution:
    """The fixture's requests for a WHATSAT about a client stored at ``location``, sent at
    ``since`` (``time.time()``), waiting up to ``wait_s`` (the reply timeout by default; 0: look
    once) for one of its own or a stray. A check that expects no request passes 0."""
    fixture = context.target.fixture
    point = degrees(location)
    if fixture is None or point is None:
        return Attribution()
    known = _known(context)
    latest = Attribution()

    def arrived() -> bool:
        nonlocal latest
        latest = attribute(fixture.requests(), point, radius_m, since=since, known=known)
        return bool(latest.own or latest.strays)

    deadline_s = context.target.timeout_s if wait_s is None else wait_s
    with contextlib.suppress(DeadlinePassed):
        wait_until(arrived, deadline_s=context.remaining(deadline_s) if deadline_s > 0 else 0.0)
    context.transcript.note(
        f"fixture: {len(latest.own)} request(s) centred on {location.decode(errors='replace')}, "
        f"{len(latest.strays)} centred on no location sent, {len(latest.seen)} in its log"
    )
    return latest


def now() -> float:
    """The clock the fixture stamps its requests with."""
    return time.time()


def attribute_again(
    requests: list[dict[str, Any]], location: bytes, radius_m: Decimal, since: float
) -> Attribution:
    """The requests among ``requests`` (a log already read) centred on ``location`` with radius
    ``radius_m`` (strays are not looked for)."""
    point = degrees(location)
    if point is None:
        return Attribution(seen=requests)
    return attribute(requests, point, radius_m, since=since, known=[point])


def in_proportion(
    requests: list[dict[str, Any]],
    location: bytes,
    since: float,
    *,
    radius_km: Decimal,
    other_radius_km: Decimal,
) -> list[dict[str, Any]]:
    """The requests among ``requests`` centred on ``location``, arrived since ``since``, whose
    radius stands to another such request's as ``radius_km`` to ``other_radius_km``: those a
    WHATSAT of ``radius_km`` made when another of ``other_radius_km`` about the same record
    followed, whatever unit the herd puts its radius in (a herd that sends kilometres, ``10``
    and ``9``, is charged by the ratio where the metres 10000 would miss its request). A herd
    whose radius does not scale with the WHATSAT's shows no pair, and nothing is charged."""
    point = degrees(location)
    if point is None:
        return []
    here = [
        (request, radius)
        for request in requests
        if float(request.get("time", 0.0)) >= since
        and centred_on(request, point)
        and (radius := request_circle(request)[0]) is not None
    ]
    others = {radius for _, radius in here}
    return [request for request, radius in here if radius * other_radius_km / radius_km in others]


def misplaced_request(context: CheckContext, location: bytes, since: float) -> bool:
    """PLACES-2 for a record stored at ``location``: the WHATSAT's Places request (found by its
    centre or, failing that, as the one stray that came after it: places_attribution) is
    centred on the stored location, compared as numbers (``37.32,19.991`` for
    ``+37.32+19.9910000``). A reply that shows the record came after its request, which the
    fixture logs as it arrives, so one look is enough; no request seen at all leaves nothing
    to judge. A herd that misplaces the request for an ordinary location too is
    places-radius-metres' to name: False, and no more requests are judged here."""
    found = wait_for_request(context, location, since=since, radius_m=Decimal(10_000), wait_s=0)
    if found.own or not found.strays:
        return True
    ordinary = context.location()
    client = context.client_id("ordinary")
    context.iamat(context.target.names[0], client, ordinary, context.now_time())
    control_since = now()
    context.whatsat(context.target.names[0], client, b"10", 1)
    if not wait_for_request(context, ordinary, since=control_since, radius_m=Decimal(10_000), wait_s=0).own:
        context.transcript.note(
            "the Places request for an ordinary location is not centred on it either: "
            "places-radius-metres judges that (PLACES-2)"
        )
        return False
    stray = found.strays[0]
    context.learned["request_misplaced"] = (
        f"whatsat-location-forms: the request for a record at {location.decode()} is centred elsewhere"
    )
    raise CheckFailed(
        f"the Places request for a record stored at {location.decode()} is not centred on it "
        f"(for {ordinary.decode()} it is)",
        expected="location " + ",".join(location_degrees(location)),
        seen=f"{stray.get('path')}?{stray.get('raw_query') or stray.get('body')}",
        clause="PLACES-2",
    )
