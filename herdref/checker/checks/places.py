"""What the herd asks Places and how it passes the answer on (SPEC section 12)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Final
from urllib.parse import unquote

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import alive_after, expect_error, named_together, show
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.checks.whatsat import judge_whatsat_reply
from herdref.checker.checks.whatsat_reading import places_reply, whatsat_json
from herdref.checker.places_attribution import (
    attribute_again,
    in_proportion,
    now,
    request_circle,
    wait_for_request,
)
from herdref.checker.places_evidence import raise_if_records_kept_while_connected
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import looks_like_at
from herdref.model.replies import RESULT_KEYS, result_array
from herdref.protocol import MAX_BOUND, location_degrees


@check(
    "places-bound-zero",
    "PLACES-4",
    "MUST",
    "bound 0: no Places request, an empty result",
    needs_fixture=True,
    # A request made for bound 0 is invisible to every client: herdref's rule (SPEC A10), strict.
    strict_part=True,
    # What Places is asked does not depend on the AT reply's shape (AT-1, at-reply-format's).
    reads_malformed_at=True,
)
def places_bound_zero(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: the requests the target sends cannot be seen")
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    at_reply(context, name, client, location, context.now_time())
    fixture.reset()
    since = now()
    reply = context.whatsat(name, client, b"10", 0)
    if reply.data.startswith(b"? "):
        raise CheckUnsupported("the target refuses bound 0 (WHATSAT-3 lenient)")
    # A request may come after the reply, or after the close (herdref.checker.places_attribution):
    # a second WHATSAT for the same client with another radius marks the end of the wait, its
    # request coming after any the first one made.
    bound_zero = wait_for_request(context, location, since=since, radius_m=Decimal(10_000), wait_s=0)
    if not bound_zero.own:
        marked = context.whatsat(name, client, b"9", 1)
        # Answered, its request is logged already; unanswered, it may still come.
        marker = wait_for_request(
            context, location, since=since, radius_m=Decimal(9_000), wait_s=0 if marked.data else None
        )
        bound_zero = attribute_again(marker.seen, location, Decimal(10_000), since)
        if not bound_zero.own:
            # A herd whose radius is not in metres (places-radius-metres names that) made its
            # requests of 10 and 9 in its own unit: charged by their ratio.
            bound_zero.own = in_proportion(
                marker.seen, location, since, radius_km=Decimal(10), other_radius_km=Decimal(9)
            )
    if bound_zero.own:
        request = bound_zero.own[0]
        raise CheckFailed(
            "a WHATSAT with bound 0 made a Places request" + places_held(reply.data),
            expected="no request (the answer is known: no places)",
            seen=f"{len(bound_zero.own)} request(s): {request.get('path')}?{request.get('raw_query', '')}",
        )
    if not looks_like_at(reply.data):
        got = show(reply.received[:200]) if reply.data else "no reply"
        raise_if_records_kept_while_connected(context.target.knowledge)
        raise CheckUnsupported(
            f"a WHATSAT with bound 0 got {got}, not the AT line and an empty result (whatsat-reply "
            "judges the reply), so there is no empty result to judge"
        )


def places_held(reply: bytes) -> str:
    """What a bound-0 reply that made a request says of its own count, if it holds places: that
    is whatsat-bound's defect (WHATSAT-7), said here so that the words are whole."""
    if not looks_like_at(reply):
        return ""
    try:
        results = result_array(whatsat_json(reply))
    except CheckUnsupported:
        return ""
    if not results:
        return ""
    return f", and its reply holds {len(results)} place(s) (whatsat-bound judges the count, WHATSAT-7)"


@check(
    "places-errors",
    "PLACES-3",
    "MUST",
    "Google error statuses pass through; no JSON gives '?'",
    needs_fixture=True,
    # The handout is silent on what to do when Google fails (protocol notes A12): passing its
    # error JSON through and '?' for no JSON are herdref's reading, strict only.
    strict_part=True,
    reads_malformed_at=True,  # what reaches the client after Google's error: not the AT line's shape
)
def places_errors(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: Google's errors cannot be staged")
    name = context.target.names[0]
    client = context.client_id()
    at_reply(context, name, client, context.location(), context.now_time())
    try:
        fixture.set_fault("over_query_limit")
        reply = places_reply(context, name, client, b"10", 3)
        requests = fixture.requests()
        new_api = bool(requests) and requests[-1].get("method") == "POST"  # Nearby Search (New)
        # Legacy: HTTP 200 with "status": "OVER_QUERY_LIMIT"; New API: HTTP 429 with
        # {"error": {"status": "RESOURCE_EXHAUSTED", ...}}.
        expected = (
            'the AT line and Google\'s {"error": {"status": "RESOURCE_EXHAUSTED", ...}}'
            if new_api
            else 'the AT line and a JSON object with "status": "OVER_QUERY_LIMIT"'
        )
        if reply.data.startswith(b"?") and new_api:
            # The course never met the New API, whose errors are HTTP errors; passing their JSON
            # body through is herdref's reading (protocol notes A12): strict.
            context.defer_strict(
                CheckFailed(
                    "the New API's HTTP 429 error was answered '?' instead of passing its JSON through",
                    expected=expected,
                    seen=show(reply.received[:300]),
                )
            )
        elif reply.data.startswith(b"?"):
            raise CheckFailed(
                "Google's OVER_QUERY_LIMIT answer (HTTP 200, a JSON object) was answered '?' instead of "
                "being passed through",
                expected=expected,
                seen=show(reply.received[:300]),
            )
        elif not looks_like_at(reply.data):
            # Dropped, or something else: the JSON object Google sent never reached the client.
            raise CheckFailed(
                "Google's over-quota answer (a JSON object) was not passed through",
                expected=expected,
                seen=show(reply.received[:300]) if reply.data else "no reply",
            )
        else:
            parsed = whatsat_json(reply.data.removesuffix(b"\n\n"))
            error = parsed.get("error") if isinstance(parsed, dict) else None
            passed = isinstance(parsed, dict) and (
                parsed.get("status") == "OVER_QUERY_LIMIT"
                or (isinstance(error, dict) and error.get("status") == "RESOURCE_EXHAUSTED")
            )
            if not passed:
                raise CheckFailed(
                    "Google's over-quota answer was not passed through",
                    expected=expected,
                    seen=show(reply.received[:300]),
                )
        for fault in ("http_500", "malformed_json"):
            fixture.set_fault(fault)
            expect_error(
                context,
                name,
                b"WHATSAT %s 10 3\n" % client,
                f"Places gave no JSON object ({fault}), and no '? <line>' reply came",
                clause="PLACES-5",
                strict_part=True,
            )
    finally:
        fixture.reset()
    alive_after(context, name)


@check(
    "places-newlines-squeezed",
    "WHATSAT-6",
    "MUST",
    "Google's JSON with empty lines in it is passed on with each run of newlines made one",
    needs_fixture=True,
    # The course: the JSON is Google's "with two exceptions: every sequence of two or more
    # adjacent newlines is replaced by a single newline, and all trailing newlines are removed"
    # (core). A reply already wrong in its form is whatsat-reply's, named once there.
    requires=("dialect", "at-reply-format", "whatsat-reply"),
)
def places_newlines_squeezed(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: an answer with empty lines in it cannot be staged")
    name = context.target.names[0]
    client = context.client_id()
    line = at_reply(context, name, client, context.location(), context.now_time())
    try:
        # The fixture's answer with an empty line after each line that ends in a comma; the
        # largest bound, so that a herd that passes Google's text on when it cuts nothing (a
        # student herd did) shows it.
        fixture.set_fault("blank_lines")
        reply = places_reply(context, name, client, b"10", MAX_BOUND)
    finally:
        fixture.set_fault("none")
    context.transcript.note("Places answered with an empty line after each line that ends in a comma")
    try:
        judge_whatsat_reply(line, reply)
    except CheckFailed as failure:
        if failure.strict_part:
            # A strict-only deviation of the reply's form (no empty line at its end, which
            # lenient allows) is whatsat-reply's, seen on every WHATSAT: not named again here.
            context.transcript.note(f"{failure.summary}: whatsat-reply's to name (strict only)")
            return
        raise


@check(
    "places-radius-metres",
    "PLACES-2",
    "MUST",
    "the Places request carries the radius in metres and the stored location",
    needs_fixture=True,
    # Not at-reply-format: what is judged is the request Places gets, which a malformed AT reply
    # (the IAMAT command repeated in it, say) does not change; the herd need only take the IAMAT.
    requires=("dialect",),
)
def places_radius_metres(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: the request the target sends to Google cannot be seen")
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    taken = context.iamat(name, client, location, context.now_time())
    if not looks_like_at(taken.data):
        answer = repr(taken.received) if taken.received else "no reply"
        raise CheckUnsupported(
            f"the IAMAT that WHATSAT needs got {answer}, not an AT line (the IAMAT checks judge "
            "that), so no Places request could be asked for"
        )
    # Each request is judged by value (core); how its numbers are written, after (strict).
    failures: list[CheckFailed] = []
    written: list[str] = []
    for radius_km, metres in ((b"10", Decimal(10_000)), (b"0.5", Decimal(500))):
        if radius_km != b"10":
            # A location of its own for each WHATSAT: a late request is told by its centre. And
            # a client of its own: whether a newer report replaces a record is newer-by-value's
            # (a student herd kept each client's first report, and its requests were centred on
            # that, as they should be for the record it held).
            client, location = context.client_id(), context.location()
            if not looks_like_at(context.iamat(name, client, location, context.now_time()).data):
                raise CheckUnsupported("the second IAMAT that WHATSAT needs got no AT line")
        fixture.reset()
        since = now()
        reply = context.whatsat(name, client, radius_km, 3)
        # A request made before the reply is in the log already (recorded as it arrives); only
        # a WHATSAT left without a reply may have its request still to come, and where the
        # server closed the connection unanswered (a handler that died) only for the linger.
        answered = reply.data.startswith(b"?") or looks_like_at(reply.data)
        dropped = reply.closed and not reply.data
        wait_s = 0 if answered else context.target.linger_s if dropped else None
        found = wait_for_request(context, location, since=since, wait_s=wait_s)
        if not found.own and not found.strays:
            if radius_km == b"0.5" and not looks_like_at(reply.data):
                break  # a decimal radius is refused (or dropped) here; limits-edges reports that
            if not looks_like_at(reply.data):
                # No record on a connection of its own (STATE-1): no request is made for one.
                raise_if_records_kept_while_connected(context.target.knowledge)
            raise CheckUnsupported(
                "the target's Places request never reached the fixture"
                if looks_like_at(reply.data)
                else f"WHATSAT radius {radius_km.decode()} km got {show(reply.received[:120])}, no AT line, "
                "and no Places request was made"
                if reply.received
                else f"WHATSAT radius {radius_km.decode()} km got no answer, so no Places request was made"
            )
        if not found.own:
            failures.append(_off_centre(location, found.strays[0]))
            continue
        seen_radius = request_circle(found.own[0])[0]
        if seen_radius is None or seen_radius != metres:
            failures.append(
                CheckFailed(
                    f"WHATSAT radius {radius_km.decode()} km was sent to Places as {seen_radius}",
                    expected=f"radius {metres} (metres)",
                    seen=f"radius {seen_radius}",
                )
            )
            continue
        written += _written_otherwise(found.own[0], location, metres)
    elsewhere = _other_quadrants(context, name)
    misplaced = context.target.knowledge.request_misplaced
    if elsewhere and misplaced is not None:
        # The same misplacing, named once (knowledge request_misplaced).
        context.transcript.note(f"{elsewhere[0].summary}: {misplaced}")
        if not failures:
            raise CheckBlocked("whatsat-location-forms", f"{elsewhere[0].summary}: {misplaced}")
        elsewhere = []
    failures += elsewhere
    if failures:
        raise named_together(failures)
    if written:
        context.defer_strict(
            CheckFailed(
                "the Places request writes its numbers otherwise than the client did: "
                + "; ".join(dict.fromkeys(written)),
                expected="location=<the client's digits, no '+'>&radius=<metres, an integer when whole>",
                seen="; ".join(dict.fromkeys(written)),
                strict_part=True,
            )
        )


def _off_centre(location: bytes, stray: dict[str, object]) -> CheckFailed:
    """A Places request that came for a WHATSAT about a client stored at ``location`` and is
    centred elsewhere."""
    return CheckFailed(
        f"the Places request for a record stored at {location.decode()} is not centred on it",
        expected=",".join(location_degrees(location)),
        seen=f"{stray.get('path')}?{stray.get('raw_query') or stray.get('body')}",
    )


#: The signs of two other quadrants: the course's own locations are all +lat -long, and a herd
#: that cuts the location at its sign characters writes only those right. (South-east, -lat
#: +long, is whatsat-location-forms', which judges its request too.)
_OTHER_SIGNS: Final = ((b"+", b"+"), (b"-", b"-"))


def _other_quadrants(context: CheckContext, name: str) -> list[CheckFailed]:
    """PLACES-2 for records stored north-east and south-west (a student herd sent
    '+34.5+118.25' as '34.,+118.25'): each Places request must be centred on its record (each a
    client of its own). A WHATSAT answered without a request is not judged here (WHATSAT-5,
    whatsat-location-forms)."""
    fixture = context.target.fixture
    assert fixture is not None  # the caller has one
    failures: list[CheckFailed] = []
    for latitude_sign, longitude_sign in _OTHER_SIGNS:
        # Five fraction digits, the last not 0: a herd that drops the last character of a
        # number (that student herd's '34.' for '+34.5') moves the centre past the graders'
        # tolerance only where that character is worth more than it (the run's usual
        # locations end in '00', and such a herd passed).
        latitude, longitude = (
            f"{abs(float(part)) + 0.00007:.5f}".encode() for part in location_degrees(context.location())
        )
        location = latitude_sign + latitude + longitude_sign + longitude
        client = context.client_id()
        if not looks_like_at(context.iamat(name, client, location, context.now_time()).data):
            # Refusing a valid location is location-edges' business (LEX-5).
            context.transcript.note(f"{location.decode()} got no AT line: no Places request to judge for it")
            continue
        fixture.reset()
        since = now()
        reply = context.whatsat(name, client, b"10", 1)
        answered = reply.data.startswith(b"?") or looks_like_at(reply.data)
        found = wait_for_request(context, location, since=since, wait_s=0 if answered else None)
        if not found.own and found.strays:
            failures.append(_off_centre(location, found.strays[0]))
        elif not found.own:
            context.transcript.note(f"no Places request for the record at {location.decode()}: not judged")
    return failures


def _written_otherwise(request: dict[str, object], location: bytes, metres: Decimal) -> list[str]:
    """How a legacy request (query string) writes the centre and the radius otherwise than
    PLACES-2's strict part asks, in words: [] when as asked, or for the New API (JSON numbers,
    judged by value only)."""
    raw = request.get("raw_query")
    if not isinstance(raw, str) or "location=" not in raw:
        return []
    fields = dict(part.partition("=")[::2] for part in raw.split("&"))
    seen_location = unquote(fields.get("location", ""))
    seen_radius = unquote(fields.get("radius", ""))
    wanted_location = ",".join(location_degrees(location))
    wanted_radius = str(metres.normalize()) if metres != metres.to_integral() else str(int(metres))
    words = []
    if seen_location != wanted_location:
        words.append(f"location={seen_location} for the client's {location.decode()} ({wanted_location})")
    if seen_radius != wanted_radius:
        words.append(f"radius={seen_radius} for {wanted_radius} metres")
    return words


#: Fewer than the fixture's places, so that the cut to the bound is part of what is compared.
_PASSTHROUGH_BOUND: Final = 3


@check(
    "places-passthrough",
    "PLACES-3",
    "MUST",
    "the Places JSON is passed on unchanged: every key and value, the results cut to the bound",
    needs_fixture=True,
    # A result array cut wrongly is whatsat-bound's defect (WHATSAT-7), named there once.
    requires=("dialect", "at-reply-format", "whatsat-bound"),
    reads_malformed_at=True,  # the JSON after the AT line, compared with the fixture's
)
def places_passthrough(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: what Google's stand-in answered cannot be seen")
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    at_reply(context, name, client, location, context.now_time())
    fixture.reset()
    since = now()
    reply = places_reply(context, name, client, b"10", _PASSTHROUGH_BOUND)
    # Any radius: the body is what is compared, and a herd that sends the radius in the wrong
    # unit (places-radius-metres names that) still passes on what the fixture answered it.
    own = wait_for_request(context, location, since=since, wait_s=0 if reply.data else None).own
    answered = [request for request in own if request.get("answer") is not None]
    if not answered:
        raise CheckUnsupported(
            "the fixture got no Places request centred on the client's location for this WHATSAT"
            if not own
            else "the herd's Places request got no answer from the fixture (a fault was left on)"
        )
    request = answered[0]
    context.transcript.note(f"the fixture answered {request.get('path')}: {str(request['answer'])[:300]!r}")
    try:
        google = json.loads(str(request["answer"]))
    except ValueError:
        raise CheckUnsupported("the fixture's answer was not JSON (a fault was left on)") from None
    seen = whatsat_json(reply.data.removesuffix(b"\n\n"))
    if isinstance(google, dict) and not isinstance(seen, dict):
        # Not a JSON object at all (e.g. the bare results array): whatsat-reply judges the body
        # (WHATSAT-6, or first what comes before it); there is no object to compare key by key.
        raise CheckUnsupported(
            "the WHATSAT reply's body is not a JSON object (whatsat-reply judges the body, WHATSAT-6), so "
            "there is no Places object to compare with the fixture's"
        )
    if isinstance(seen, dict) and "places" not in seen and isinstance(google, dict) and "places" in google:
        # The New API's answer rendered in the legacy envelope (PLACES-3 shape = "legacy"): not
        # a pass-through, so there is nothing octet-for-octet to compare.
        raise CheckUnsupported("the herd renders the New API's answer in the legacy shape")
    expected = cut_to_bound(google, _PASSTHROUGH_BOUND)
    difference = first_difference(expected, seen)
    if difference is not None:
        raise CheckFailed(
            "the Places JSON was not passed on as the fixture sent it "
            f"(compared after parsing, the results cut to bound {_PASSTHROUGH_BOUND}): {difference}",
            expected=f"the fixture's JSON: {json.dumps(expected)[:300]}",
            seen=show(reply.received[:300]),
        )


def cut_to_bound(document: object, bound: int) -> object:
    """Google's answer as a herd passes it on: the result array cut to ``bound`` (WHATSAT-7)."""
    if not isinstance(document, dict):
        return document
    cut = {key: document[key][:bound] for key in RESULT_KEYS if isinstance(document.get(key), list)}
    return {**document, **cut}


def first_difference(expected: object, seen: object, path: str = "$") -> str | None:
    """Where two parsed JSON values first differ (a JSONPath-like place and what is there), or
    None when they are equal."""
    if isinstance(expected, dict) and isinstance(seen, dict):
        for key in expected:
            if key not in seen:
                return f"{path}.{key} is missing"
        for key in seen:
            if key not in expected:
                return f"{path}.{key} was added"
        for key, value in expected.items():
            found = first_difference(value, seen[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(seen, list):
        if len(expected) != len(seen):
            return f"{path} has {len(seen)} entries, not {len(expected)}"
        for index, (left, right) in enumerate(zip(expected, seen, strict=True)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    # bool is an int to Python: compare types too, so that true is not 1.
    if type(expected) is not type(seen) and not (_is_number(expected) and _is_number(seen)):
        return f"{path} is {seen!r}, not {expected!r}"
    return None if expected == seen else f"{path} is {seen!r}, not {expected!r}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
