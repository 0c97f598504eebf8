"""WHATSAT and its reply (SPEC section 6)."""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.at_lines import at_reply, is_malformed
from herdref.checker.checks.helpers import show
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.checks.whatsat_reading import places_reply, unanswered_after_places, whatsat_json
from herdref.checker.client import Exchange
from herdref.checker.places_attribution import misplaced_request, now
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carried_fields,
    carried_report,
    glued_at_line,
    is_iso_location,
    looks_like_at,
    parse_whatsat_reply,
    same_record,
    split_at_fields,
    split_line,
    stored_line_within,
    wrapped_at_line,
)
from herdref.model.replies import result_array
from herdref.protocol import MAX_BOUND


# The WHATSAT checks below judge whether a WHATSAT is answered and what its JSON holds, which
#: a malformed AT reply (AT-1, at-reply-format's) does not change: the IAMAT they need only has
#: to be answered with an AT line that carries its report (at_reply reads it so).
@check(
    "limits-accepted",
    "WHATSAT-2",
    "MUST",
    "radius 1, radius 50 and bound 20 are accepted",
    reads_malformed_at=True,
)
def limits_accepted(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    at_reply(context, name, client, context.location(), context.now_time())
    for radius, bound, clause in ((b"1", 1, "WHATSAT-2"), (b"50", 1, "WHATSAT-2"), (b"1", 20, "WHATSAT-3")):
        reply = places_reply(context, name, client, radius, bound)
        if not looks_like_at(reply.data):
            if reply.data.startswith(b"?"):
                what = "was refused with '?'"
            else:
                what = "got no reply" + (" (the server closed the connection)" if reply.closed else "")
            raise CheckFailed(
                f"WHATSAT with radius {radius.decode()} and bound {bound} {what}",
                expected="the stored AT line and places",
                seen=show(reply.received),
                clause=clause,
            )


# WHATSAT-2/3: "Strict: every value in it MUST be accepted"; lenient MAY refuse these.
@check(
    "limits-edges",
    "WHATSAT-2",
    "MUST",
    "a decimal radius (0.5 km), bound 0 and bound 05 are accepted",
    strict_part=True,
    # Not invalid-radius: a herd that answers radius 51 with text of its own (invalid-radius's)
    # may still refuse a decimal radius, which only this check names. A herd that dies on any
    # decimal radius is invalid-radius's (its 50.5), and BLOCKS this check (below).
    reads_malformed_at=True,
)
def limits_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    at_reply(context, name, client, context.location(), context.now_time())
    # WHATSAT-3: "`0020` is 20"; a herd that reads the bound with a pattern of its own may
    # refuse the leading zero, which the course never sends (Lenient).
    for radius, bound, clause in (
        (b"0.5", b"1", "WHATSAT-2"),
        (b"10", b"0", "WHATSAT-3"),
        (b"10", b"05", "WHATSAT-3"),
    ):
        reply = (
            places_reply(context, name, client, radius, bound)
            if bound != b"0"
            else context.whatsat(name, client, radius, 0)
        )
        if not looks_like_at(reply.data):
            if reply.data.startswith(b"?"):
                what = "was refused with '?'"
            elif reply.data.strip():
                # A refusal in the herd's own words ('(?) <line>', 'ERROR'): how a refusal is
                # written is error-reply's business (ERR-1); refusing these values at all is
                # what this check judges, and a strict deviation only.
                what = f"was refused ({show(reply.received)}, not written '? <line>': error-reply's business)"
            else:
                what = "got no reply" + (" (the server closed the connection)" if reply.closed else "")
            # Refusing a decimal radius, bound 0 or a leading zero is strict only; no reply at
            # all is not allowed in any profile (ERR-4).
            refused = bool(reply.data.strip())
            if not reply.data and b"." in radius:
                _no_reply_to_any_decimal(context, name, client, radius)
            raise CheckFailed(
                f"WHATSAT with radius {radius.decode()} and bound {bound.decode()} {what}",
                expected="the stored AT line and places",
                seen=show(reply.received),
                clause=clause if refused else "ERR-4",
                strict_part=refused,
            )
        if bound == b"0":
            body = whatsat_json(reply.data)
            # A bare array is no Places object (whatsat-reply names that, WHATSAT-6), but its
            # elements are places all the same (a student herd answers '[]').
            places = body if isinstance(body, list) else result_array(body)
            if places is None:
                context.transcript.note(
                    "the bound-0 reply's body holds no result array to count (whatsat-reply judges "
                    "its form, WHATSAT-6)"
                )
            elif places:
                raise CheckFailed(
                    f"bound 0 gave {len(places)} place(s)",
                    expected="no results",
                    seen=repr(places)[:300],
                    clause="WHATSAT-7",
                )


def _no_reply_to_any_decimal(context: CheckContext, name: str, client: bytes, radius: bytes) -> None:
    """BLOCKED by invalid-radius when it saw a decimal radius left without any reply (knowledge
    ``radius_unanswered``) and an invalid decimal radius (its 50.5) gets no reply here either:
    the herd dies or hangs on decimal radii, valid or not, which invalid-radius has named."""
    knowledge = context.target.knowledge
    if knowledge.radius_unanswered is None:
        return
    if knowledge.decimal_radius_unanswered is not None:
        # A decimal radius was left unanswered there already: this one is the same defect.
        raise CheckBlocked(
            "invalid-radius",
            f"radius {radius.decode()} got no reply, as a decimal radius did before "
            f"({knowledge.decimal_radius_unanswered}): the same defect",
        )
    invalid = b"WHATSAT %s 50.5 5\n" % client
    if context.send(name, invalid, whatsat=True).data:
        return
    raise CheckBlocked(
        "invalid-radius",
        f"radius {radius.decode()} got no reply, and neither did {invalid.strip()!r}: the herd answers "
        "no decimal radius, valid or not (invalid-radius names that)",
    )


#: How whatsat-reply's summary starts when the reply's first line is not the stored AT line
#: (validate then knows that the stateful run sees such lines too).
FIRST_LINE_NOT_STORED: Final = "the WHATSAT reply does not start with the stored AT line"
#: How long a WHATSAT reply that ended at an empty line right after its AT line, on a
#: connection the server keeps open, is read on for what the herd writes after that line.
_PAST_EMPTY_LINE_S: Final = 2.0


@check(
    "whatsat-reply",
    "WHATSAT-5",
    "MUST",
    "WHATSAT: stored AT line, LF, JSON without empty lines, LF LF",
    # Whether the reply starts with the stored line does not depend on that line's shape: a
    # malformed one (AT-1, at-reply-format's) must come back as it is too.
    reads_malformed_at=True,
)
def whatsat_reply(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    report = (context.location(), context.now_time())
    line = at_reply(context, name, client, *report)
    if not context.target.places_work:
        # No record shown in the dialect step: the fixture's log tells a herd that asked Places
        # and answered nothing (its defect, named here once) from one that never reached it.
        judge_whatsat_reply(line, unanswered_after_places(context, name, client, line))
        return
    # A bound below the places Google has and the largest bound, at least as many as it has: a
    # herd that mangles the end of the JSON only when nothing is cut shows it with the second.
    for bound in (5, MAX_BOUND):
        reply = places_reply(context, name, client, b"10", bound)
        if bound == MAX_BOUND and reply.data.startswith(b"?"):
            # Refusing the largest bound is limits-accepted's defect (WHATSAT-3), named there.
            context.transcript.note(
                f"bound {bound} refused with '?': limits-accepted judges that (WHATSAT-3)"
            )
            continue
        read_on = not reply.closed and reply.data.startswith(line + b"\n\n")
        if read_on:
            # An empty line right after the AT line ended the read (the reply's end for a
            # client) on a connection the server keeps open, with whatever came in the same
            # read: what it writes after that empty line is read whole, as a closed connection
            # would have shown it, to be judged too.
            context.transcript.note("the reply ended at an empty line after the AT line: reading on")
            request = b"WHATSAT %s 10 %d\n" % (client, bound)
            reply = context.send(name, request, whatsat=True, timeout_s=_PAST_EMPTY_LINE_S, past_reply=True)
        _learn_if_unreadable(context, name, reply.data, report)
        judge_whatsat_reply(line, reply, read_past_end=read_on)


def _learn_if_unreadable(context: CheckContext, name: str, data: bytes, report: tuple[bytes, bytes]) -> None:
    """When the reply's first line is AT-shaped but does not carry the stored report (its
    location and client time), no WHATSAT can show which record a server holds: the run learns
    it (``records_unreadable``), kept if this check fails."""
    first = data.partition(b"\n")[0]
    within = stored_line_within(first)
    if within is not None and carried_report(within, [report]) == 0:
        # The record is there, the body glued to it or the herd's own words before it (this
        # check names that, WHATSAT-5): every WHATSAT's first line is read for it (held_line).
        return
    if looks_like_at(first) and carried_report(first, [report]) is None:
        context.learned["records_unreadable"] = (
            f"{name} answers WHATSAT with {first[:160]!r}, an AT line that does not carry the location "
            f"{report[0].decode()} and client time {report[1].decode()} of the record it stored"
        )


def judge_whatsat_reply(line: bytes, reply: Exchange, *, read_past_end: bool = False) -> None:
    """WHATSAT-5/6: ``reply`` is the stored AT ``line``, LF, a JSON object without an empty line,
    LF LF. The first line and the body are judged apart, and every deviation proven is named:
    a reply whose first line is wrong may hide a body that is no JSON (a dict's repr), which
    the checks of its contents leave to this one."""
    data = reply.data
    first, newline, body = data.partition(b"\n")
    malformed = is_malformed(line)
    if data.startswith(line + b"\n"):
        deviation = None
    else:
        refused = data.startswith(b"?")
        if malformed and looks_like_at(first) and len(first.split()) != len(line.split()):
            # The stored line is a malformed AT reply (AT-1, at-reply-format's): a first line
            # of another shape may be the record written rightly, so it proves nothing here.
            raise CheckUnsupported(
                f"the IAMAT reply {line!r} is malformed (at-reply-format names that, AT-1), and the "
                f"WHATSAT reply's first line {first!r} has {len(first.split())} fields where it has "
                f"{len(line.split())}: whether WHATSAT returns the stored line cannot be told"
            )
        deviation = CheckFailed(
            "the WHATSAT for a stored client was refused with '?'"
            if refused
            else FIRST_LINE_NOT_STORED + _how_it_differs(line, first),
            expected=repr(line + b"\n"),
            seen=show(data[:300]),
            # The stored line with its location or client time re-printed, numerically equal
            # (a herd that keeps the report as numbers, `+34.0037-118.0`): octet-exact copies
            # are strict, numeric equality lenient (SPEC A6, as for the IAMAT reply, IAMAT-5).
            strict_part=True if not refused and same_record(first, line) else None,
        )
        glued = glued_at_line(first) if looks_like_at(first) else None
        if glued is not None:
            # The body starts on the AT line's own line (no LF between): it is judged from
            # there, so that a body that is no JSON (a dict's repr, all on that one line) is
            # named too, not hidden behind the missing LF.
            body = first[len(glued) :].lstrip(b" \t") + newline + body
            newline = b"\n"
        if not newline or not body.strip() or not looks_like_at(first):
            raise deviation  # no body to judge ('?', nothing, one line)
    # The body is judged as if it followed the stored line.
    body_failure = _judge_whatsat_body(
        line + b"\n" + body, closed=reply.closed, any_first_line=malformed, read_past_end=read_past_end
    )
    if deviation is None:
        if body_failure is not None:
            raise body_failure
        return
    if body_failure is None or body_failure.strict_part:
        raise deviation
    if deviation.strict_part:
        raise body_failure  # the core defect; a re-printed first line is strict only
    raise _both(deviation, body_failure, data, "and")


#: AT-1's fields after the word AT, and their names in a report.
_AT_FIELDS = (
    ("server_id", "server ID"),
    ("time_diff", "time difference"),
    ("client_id", "client ID"),
    ("location", "location"),
    ("client_time", "client time"),
)


def _how_it_differs(line: bytes, first: bytes) -> str:
    """How ``first``, the first line of a WHATSAT reply, differs from the stored AT ``line``
    (the IAMAT reply), field by field: a line rebuilt at each WHATSAT shows as a time
    difference of its own, one rebuilt from the request as other fields; "" when the lines
    are the same (what follows them is wrong instead)."""
    if first == line:
        return ""
    stored, seen = split_at_fields(line), split_at_fields(first)
    if stored is None and len(first.split()) == len(line.split()):
        # A malformed stored line (AT-1, at-reply-format's), and a first line of its shape.
        differ = [
            f"{got.decode(errors='replace')} where the IAMAT reply has {want.decode(errors='replace')} "
            f"(field {index})"
            for index, (got, want) in enumerate(zip(first.split(), line.split(), strict=True), start=1)
            if got != want
        ]
        return ": its first line has " + "; ".join(differ)
    glued = glued_at_line(first)
    if glued is not None:
        return (
            ": the body follows the AT line on the same line, with no LF between (its first line "
            f"is {first[: len(glued) + 24]!r}...)"
            + (
                ""
                if glued == line
                else f", and that AT line is not the stored one{_how_it_differs(line, glued)}"
            )
        )
    wrapped = wrapped_at_line(first)
    if wrapped is not None:
        return (
            ": words of the herd's own come before the AT line on the same line "
            f"({first[: -len(wrapped)]!r}), {len(first.split())} fields in all"
            + (
                ""
                if wrapped == line
                else f", and that AT line is not the stored one{_how_it_differs(line, wrapped)}"
            )
        )
    if seen is None or stored is None:
        return (
            f": its first line is no AT line of AT-1's shape (six fields joined by single spaces; "
            f"{len(first.split())} fields here)"
        )
    differ = [
        f"{label} {getattr(seen, field).decode(errors='replace')} where the IAMAT reply has "
        f"{getattr(stored, field).decode(errors='replace')}"
        for field, label in _AT_FIELDS
        if getattr(seen, field) != getattr(stored, field)
    ]
    return ": its first line has the " + "; the ".join(differ)


def _both(layout: CheckFailed, body: CheckFailed, data: bytes, joined_by: str) -> CheckFailed:
    """One FAIL for a reply whose layout (WHATSAT-5) and body (``body``'s clause) are both wrong:
    each is named, so that neither hides the other."""
    return CheckFailed(
        f"{layout.summary} (WHATSAT-5), {joined_by} {body.summary} ({body.clause})",
        expected=f"{layout.expected}; {body.expected}",
        seen=show(data[:300]),
        clause="WHATSAT-5",
    )


def _judge_whatsat_body(
    data: bytes, *, closed: bool, any_first_line: bool = False, read_past_end: bool = False
) -> CheckFailed | None:
    """What is wrong after the first line of ``data`` (a WHATSAT reply that starts with the
    stored AT line); None when it is a JSON object without an empty line, then LF LF. With
    ``any_first_line`` that line is a malformed AT reply, whose shape is not judged here; with
    ``read_past_end`` the read went on past the reply's end on a connection kept open."""
    first = data.partition(b"\n")[0]
    if data.startswith(first + b"\n\n"):
        # WHATSAT-5's layout: a client reads up to the first empty line, which here comes before
        # the JSON, so it gets no places at all (the JSON's own empty lines are WHATSAT-6's).
        empty_line = CheckFailed(
            "an empty line follows the AT line, so the reply ends before the JSON",
            expected="the AT line, LF, then the JSON, then an empty line",
            seen=show(data[:300]),
            clause="WHATSAT-5",
        )
        # What follows is judged too, as if it came right after the AT line: a body that is no
        # JSON object is a defect of its own (WHATSAT-6), which no later check can see past this.
        # Only where the server closed the connection, or the read went on past that empty
        # line: otherwise it ended there (the reply's end for a client), and what came with it
        # may be a part.
        after = data[len(first) :].lstrip(b"\n")
        body = (
            _judge_whatsat_body(first + b"\n" + after, closed=closed, any_first_line=any_first_line)
            if (closed or read_past_end) and after
            else None
        )
        if body is None or body.strict_part or body.clause != "WHATSAT-6":
            return empty_line
        return _both(empty_line, body, data, "and after it")
    # The framing of the rest by the grammar (whatsat_reply): JSON lines, no empty line, LF LF.
    parsed = parse_whatsat_reply(data, any_first_line=any_first_line)
    cut_at_close = False
    if isinstance(parsed, str) and "(LF LF)" in parsed and closed:
        # SPEC A21: the final empty line missing where the server closed is lenient; the rest
        # of the reply is still judged.
        whole = parse_whatsat_reply(data.rstrip(b"\n") + b"\n\n", any_first_line=any_first_line)
        if not isinstance(whole, str):
            parsed, cut_at_close = whole, True
    if isinstance(parsed, str):
        return CheckFailed(
            f"the WHATSAT reply is not the AT line, the JSON and an empty line: {parsed}",
            expected="the stored AT line, LF, a JSON object without an empty line, LF LF",
            seen=repr(data[:200]) + (f" ... {data[-60:]!r}" if len(data) > 200 else ""),
            clause="WHATSAT-5" if "(LF LF)" in parsed else "WHATSAT-6",
        )
    if not isinstance(parsed.document, dict):
        return CheckFailed(
            "the JSON is not an object",
            expected="{...}",
            seen=repr(parsed.json_text[:200]),
            clause="WHATSAT-6",
        )
    if cut_at_close:
        return CheckFailed(
            "the WHATSAT reply ends where the server closed the connection, without its final "
            "empty line (LF LF)",
            expected="the JSON, LF, LF",
            seen=f"... {data[-60:]!r}, then the connection closed",
            clause="WHATSAT-5",
            strict_part=True,
        )
    return None


def integer_degrees(serial: int) -> bytes:
    """A location in integer degrees (``+34-118``: LEX-5 makes the fraction optional), one per
    ``serial`` so that Places requests for it are this check's own."""
    return b"%+d%+d" % (10 + serial % 70, -(100 + serial // 70 % 80))


@check(
    "whatsat-location-forms",
    "WHATSAT-5",
    "MUST",
    "WHATSAT for records stored at unusual but valid locations (+34-118, ...) gets the stored record",
    requires=("dialect", "at-reply-format", "location-edges", "whatsat-reply"),
    # Whether the record is found and its location kept does not depend on the AT line's
    # shape: a malformed one (AT-1, at-reply-format's) is read for the location it carries.
    reads_malformed_at=True,
)
def whatsat_location_forms(context: CheckContext) -> None:
    """The stored location goes into the Places query (PLACES-2), so a WHATSAT parses it again:
    a record stored in integer degrees, at a signed zero, or in a form drawn from the run's seed
    (leading zeros, long fractions, the limits), must be answered like any other."""
    name = context.target.names[0]
    # Signed zero every run, not only when the seed draws it: a WHATSAT that rebuilds the line
    # with a '+' before each number that is not negative writes -0.0 as +-0.0.
    # And south and east, its last digits not 0: a herd that mishandles a '-' before the
    # latitude or drops a character asks Places elsewhere, never for the north-west forms.
    locations = [
        integer_degrees(context.target.next_serial()),
        b"+0.0-0.0",
        context.location(south_east=True),
        context.variation.location(),
    ]
    judge_requests = context.target.fixture is not None
    for location in locations:
        client = context.client_id("where")
        client_time = context.now_time()
        reply = context.iamat(name, client, location, client_time)
        split = split_line(reply.data, crlf=False)
        line = split[0] if split is not None else b""
        # A malformed AT line (AT-1, at-reply-format's) that carries the report: its fields.
        carried = (
            carried_fields(line, location, client_time)
            if context.malformed_at is not None and looks_like_at(line) and is_malformed(line)
            else (None, None)
        )
        if split is None or (split_at_fields(line) is None and None in carried):
            raise CheckUnsupported(
                f"the IAMAT at {location.decode()} was not answered with an AT line that can be read "
                "(location-edges judges which locations are accepted, at-reply-format how the line "
                "is written), so no record is known to be stored there to ask for"
            )
        record = split_at_fields(line)
        echoed_location = record.location if record is not None else carried[0]
        if echoed_location is not None and not is_iso_location(echoed_location):
            # The record is stored in a form that is no LOCATION (a float's exponent): that is
            # the echo's defect (IAMAT-5, echo-numeric names it once); what Places makes of
            # that form says nothing about this check's question.
            raise CheckUnsupported(
                f"the AT reply for {location.decode()} echoes the location as "
                f"{echoed_location.decode(errors='replace')}, which is no LOCATION (IAMAT-5, echo-numeric "
                "judges that), so a record stored at the form sent cannot be asked for"
            )
        since = now()
        answer = places_reply(context, name, client, b"10", 1)
        if answer.data.startswith(line + b"\n"):
            judge_requests = judge_requests and misplaced_request(context, location, since)
            continue
        first = answer.data.partition(b"\n")[0]
        if record is not None and same_record(first, line):
            # The record, its location or client time re-printed numerically equal: that is
            # whatsat-reply's to name (WHATSAT-5, strict only, SPEC A6).
            judge_requests = judge_requests and misplaced_request(context, location, since)
            continue
        if record is None and looks_like_at(first):
            # The stored line is malformed: the first line shows the record when it carries the
            # location and client time as the IAMAT reply does. One of another shape that carries
            # the location otherwise may be the record written rightly (whatsat-reply's reading).
            seen = carried_fields(first, location, client_time)
            if seen == carried:
                continue
            if seen[0] is not None and len(first.split()) != len(line.split()):
                raise CheckUnsupported(
                    f"the IAMAT reply {line!r} is malformed (at-reply-format names that, AT-1), and the "
                    f"WHATSAT reply's first line {first!r} has another shape and writes its fields "
                    "otherwise: whether it is the record stored cannot be told"
                )
        if answer.data:
            outcome = "'?'" if answer.data.startswith(b"?") else "a reply that does not start with it"
        else:
            outcome = "no reply" + (", and the server closed the connection" if answer.closed else "")
        raise CheckFailed(
            f"WHATSAT for a client whose record is stored at {location.decode()} got {outcome}",
            expected=repr(line + b"\n") + ", the JSON, an empty line",
            seen=show(answer.received[:300] or None) + (f" ({answer.error})" if answer.error else ""),
        )


@check("whatsat-bound", "WHATSAT-7", "MUST", "at most <bound> places in the reply", reads_malformed_at=True)
def whatsat_bound(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    at_reply(context, name, client, context.location(), context.now_time())
    seen_any = False
    # A bound from 3 up as well as 2 and 1: a student herd cut the results only when the bound
    # was below the number of keys in Google's answer (len() of the dict, 3), and bounds 2 and
    # 1 alone passed it. The fixture has 20 places within 20 km, so any bound up to 19 bites.
    for bound in (context.variation.offset(3, 19), 2, 1):
        reply = places_reply(context, name, client, b"20", bound)
        parsed = whatsat_json(reply.data.removesuffix(b"\n\n"))
        # A bare array is no Places object (whatsat-reply names that, WHATSAT-6), but its
        # elements are places all the same (a student herd answers the results list alone).
        results = parsed if isinstance(parsed, list) else result_array(parsed)
        if results is None:
            # Not a JSON object, or a result key without an array: whatsat-reply judges the form
            # (WHATSAT-6); there is nothing here to count.
            raise CheckUnsupported(f"the WHATSAT reply for bound {bound} holds no result array to count")
        seen_any = seen_any or bool(results)
        if len(results) > bound:
            raise CheckFailed(
                f"bound {bound} but the reply holds {len(results)} places",
                expected=f"at most {bound} results",
                seen=f"{len(results)} results",
            )
    if not seen_any:
        # No places at all (e.g. REQUEST_DENIED for a missing key): nothing was cut, so the bound
        # was never put to the test (no vacuous PASS).
        status = parsed.get("status") if isinstance(parsed, dict) else None
        raise CheckUnsupported(
            f"Places returned no results (status {status!r}), so the bound could not be put to the test"
        )
