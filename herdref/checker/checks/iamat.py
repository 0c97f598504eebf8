"""IAMAT and the AT reply (SPEC sections 4 and 5)."""

from __future__ import annotations

import time
from typing import Final

from herdref.checker.checks.at_lines import (
    MALFORMED_LINE,
    at_fields,
    at_reply,
    echoed,
    held_time,
    is_malformed,
    wait_for_report,
)
from herdref.checker.checks.helpers import named_together, neighbours_of, show
from herdref.checker.checks.nanosecond import once_quiet, once_quiet_report, one_nanosecond_newer
from herdref.checker.checks.put_back import Pair, raise_if_put_back, raise_if_taken, raise_if_taken_at
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.stale_reports import STALE_AGE_S, kept_report, raise_if_stored_diff_reused
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.checker.variation import FRACTION_DIGITS, INTEGER_DIGITS, Variation
from herdref.model.judge import (
    carried_report,
    location_close,
    looks_like_at,
    split_at_fields,
    time_close,
)


@check(
    "at-reply-format",
    "AT-1",
    "MUST",
    "AT <server> <time-diff> <client> <location> <time>, single spaces, LF",
    requires=("dialect",),
)
def at_reply_format(context: CheckContext) -> None:
    terminators = context.target.dialect.iamat
    for name in context.target.running:
        client, location, client_time = context.client_id(), context.location(), context.now_time()
        try:
            line = at_reply(context, name, client, location, client_time)
        except CheckFailed:
            malformed = context.details.get(MALFORMED_LINE)
            if malformed is not None:
                # It still carries the location and client time sent: the checks that do not
                # depend on the line's shape read it for that, instead of being BLOCKED.
                context.learned["malformed_at"] = f"{name} answers a valid IAMAT with {malformed!r}"
            raise
        record = at_fields(line)
        if (record.server_id, record.client_id) != (name.encode(), client):
            raise CheckFailed(
                f"{name}'s AT reply is not 'AT {name} <time-diff> <client> <location> <time>'",
                expected=repr(b"AT %s <diff> %s %s %s" % (name.encode(), client, location, client_time)),
                seen=repr(line),
            )
    # AT-1: "Strict: LF and nothing else. Lenient: CRLF, or no terminator at all, whether the
    # server then closes the connection or keeps it open." The dialect step saw how replies end.
    if terminators.terminator != "LF":
        ending = (
            "CRLF"
            if terminators.terminator == "CRLF"
            else "nothing (the server closed instead)"
            if terminators.server_closes
            else "nothing (no LF, and the server keeps the connection open)"
        )
        raise CheckFailed(
            f"the AT reply ends in {ending}",
            expected="the AT line followed by LF alone",
            seen=f"replies framed as: {terminators.describe()}",
            strict_part=True,
        )


def varied_client_times(variation: Variation) -> list[bytes]:
    """Client times of unusual but valid forms (LEX-6), drawn from ``variation``: the longest
    (19 integer and 12 fraction digits, where a float keeps neither the fraction nor the units),
    19 integer digits and no fraction, and two of any form (1-19 and 0-12 digits). Compared as
    strings or computed in float, these show what ten-digit times hide."""
    return [
        variation.client_time(max(INTEGER_DIGITS), max(FRACTION_DIGITS)),
        variation.client_time(max(INTEGER_DIGITS), 0),
        variation.client_time(),
        variation.client_time(),
    ]


def any_time_forms(context: CheckContext) -> list[bytes]:
    """The varied client times of iamat-any-time, which skew sends again: skew needs
    iamat-any-time, so the times it sends are ones the herd was seen to accept."""
    target = context.target
    return varied_client_times(
        Variation.for_check(target.seed, "iamat-any-time", integer_times=target.integer_times)
    )


@check(
    "iamat-any-time",
    "IAMAT-6",
    "MUST",
    "client times far from the server's clock are accepted",
    # Accepted or not is an AT-shaped reply or not, whatever the line's shape (AT-1's).
    reads_malformed_at=True,
)
def iamat_any_time(context: CheckContext) -> None:
    name = context.target.names[0]
    fixed = [b"0", b"1.5", b"1000000000.000000001", b"4102444800.999999999"]
    refused: list[tuple[bytes, bytes | None]] = []
    taken_integers: list[bytes] = []
    for client_time in [*fixed, *any_time_forms(context)]:
        client = context.client_id()
        reply = context.iamat(name, client, context.location(), client_time)
        if not looks_like_at(reply.data):
            refused.append((client_time, reply.received or None))
        elif b"." not in client_time:
            taken_integers.append(client_time)
    unanswered = [client_time for client_time, seen in refused if seen is None]
    if unanswered:
        context.learned["far_time_unanswered"] = (
            f"iamat-any-time: client time {unanswered[0].decode()} got no reply at all"
        )
    integers_refused = [(client_time, seen) for client_time, seen in refused if b"." not in client_time]
    if integers_refused and taken_integers:
        # A time without a fraction refused while others without one were taken: for its value
        # ("time must be > 0", say: IAMAT-6), or for its form (a pattern that wants three
        # characters or more; LEX-6's lenient allowance)? Another time of as many digits, as
        # far from the clock, tells: taken, the value was refused.
        client_time, seen = integers_refused[0]
        control = (b"2" if client_time.startswith(b"1") else b"1") * len(client_time)
        if looks_like_at(context.iamat(name, context.client_id(), context.location(), control).data):
            raise CheckFailed(
                f"an IAMAT with client time {client_time.decode()} {_fate(seen)}, although one "
                f"of as many digits, as far from the server's clock, was taken ({control.decode()})",
                expected="an AT line (skew shows in the time difference)",
                seen=show(seen),
            )
    with_fraction = [(client_time, seen) for client_time, seen in refused if b"." in client_time]
    if integers_refused:
        # A time without a fraction was refused: the later checks send times with one, so that
        # one refusal is not named again by each of them (LEX-6 strict, below).
        context.target.integer_times = False
    if with_fraction:
        _judge_refused_fractions(context, name, with_fraction)
    if refused:
        # Every handout example and TA client time has a fraction: accepting a time without
        # one is LEX-6's strict reading only. Later checks send times with a fraction.
        context.target.integer_times = False
        raise CheckFailed(
            "IAMATs whose client time has no fraction were refused: "
            + ", ".join(client_time.decode() for client_time, _ in refused),
            expected="an AT line (LEX-6: digits with an optional fraction)",
            seen=show(refused[0][1]),
            clause="LEX-6",
            strict_part=True,
        )


def _judge_refused_fractions(
    context: CheckContext, name: str, refused: list[tuple[bytes, bytes | None]]
) -> None:
    """Client times with a fraction were refused: for their distance from the clock (IAMAT-6)
    or for their form? Each is tried again at the server's clock with as many fractional
    digits: a herd that takes that one refused the far time (IAMAT-6: a herd that converts the
    time to a date refuses past the year 9999); one that refuses it too refuses the number of
    digits (LEX-6: "Any number of integer and fractional digits is allowed"; a herd may demand
    the nine digits of the handout's examples)."""
    controls: list[tuple[bytes, bytes | None]] = []
    for client_time, seen in refused:
        control = _at_the_clock(len(client_time.partition(b".")[2]))
        reply = context.iamat(name, context.client_id(), context.location(), control)
        if looks_like_at(reply.data):
            raise CheckFailed(
                f"an IAMAT with client time {client_time.decode()} {_fate(seen)} (one with as many "
                f"fractional digits at the server's clock, {control.decode()}, was taken)",
                expected="an AT line (skew shows in the time difference)",
                seen=show(seen),
            )
        controls.append((control, reply.received or None))
    (client_time, seen), (control, control_seen) = refused[0], controls[0]
    raise CheckFailed(
        f"an IAMAT with client time {client_time.decode()} {_fate(seen)}, and one with as many "
        f"fractional digits at the server's clock ({control.decode()}) {_fate(control_seen)}: "
        "times are refused for their number of fractional digits",
        expected="an AT line (LEX-6: any number of integer and fractional digits)",
        seen=show(seen),
        clause="LEX-6",
    )


def _fate(seen: bytes | None) -> str:
    """What became of an IAMAT that got no AT line, in words true of the transcript."""
    return "was refused" if seen else "got no reply"


def _at_the_clock(fraction_digits: int) -> bytes:
    """The time now with ``fraction_digits`` fractional digits (zeros past the nanosecond)."""
    whole, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    fraction = f"{nanoseconds:09d}"[:fraction_digits].ljust(fraction_digits, "0")
    return f"{whole}.{fraction}".encode()


#: Digits of the crossing times of newer-by-value: few enough (at most 13 significant) that a
#: herd that parses and re-prints them as floats still echoes them unchanged (IAMAT-5's
#: business), so that only the comparison is judged.
_CROSSING_WHOLE_DIGITS: Final = 9
_CROSSING_FRACTION_DIGITS: Final = 3


@check(
    "newer-by-value",
    "FLOOD-2",
    "MUST",
    "a report replaces the stored one when its client time is greater in value (99.5 < 100.5)",
    # Not iamat-any-time: a herd that refuses far times (past the year 9999) may still take
    # these, and what it keeps is judged on them (a refused one makes the check UNSUPPORTED).
    requires=("dialect", "at-reply-format"),
    # Which report a server keeps does not depend on the AT line's shape: a malformed line
    # (AT-1, at-reply-format's) is read for the location and client time it carries.
    reads_malformed_at=True,
)
def newer_by_value(context: CheckContext) -> None:
    """FLOOD-2 at the server the client reports to (IAMAT-7) and where it floods them: client
    times compare as exact decimals. Two pairs: one greater in value but smaller as a string
    (:func:`_crossing_pair`), then two reports 1 ns apart at the handout's nine fraction digits,
    equal as binary floats (:func:`one_nanosecond_newer`). A server left holding the first of a
    pair is said to compare strings or floats only where the transcript shows the second never
    taken; one that took it and had the first put back is told so (:mod:`herdref.checker.checks.put_back`)."""
    name = context.target.names[0]
    _crossing_pair(context, name)
    one_nanosecond_newer(context, name)


def _crossing_pair(context: CheckContext, name: str) -> None:
    """The second of two reports is greater in value but smaller as a string (its integer part
    has one more digit; drawn from the run's seed), so a herd that compares the strings keeps
    the first; one that keeps the first whatever the times is told apart, and so is one that
    took the second and had the first put back (:mod:`herdref.checker.checks.put_back`)."""
    client = context.client_id()
    older, newer = context.variation.crossing_times(_CROSSING_WHOLE_DIGITS, _CROSSING_FRACTION_DIGITS)
    reports = ((context.location(), older), (context.location(), newer))
    first = _accepted(context, name, client, *reports[0])
    second = _accepted(context, name, client, *reports[1])

    def which(line: bytes | None) -> int | None:
        try:  # a malformed line (AT-1) is read by the report it carries
            client_time = held_time(context, name, line, reports)
        except CheckUnsupported:
            return None
        if client_time is None:
            return None
        if time_close(newer, client_time):
            return 1
        return 0 if time_close(older, client_time) else None

    pair = Pair(
        name=name,
        client=client,
        reports=reports,
        replies=(first, second),
        which=which,
        said=f"reports with client times {older.decode()} then {newer.decode()}",
        hint=f"the first is the greater as strings: {newer.decode()!r} sorts before {older.decode()!r}",
    )
    # Which report the server holds, by its client time: the rest of the line is WHATSAT-5's.
    held = context.stored_line(name, client)
    held_client_time = held_time(context, name, held, reports)
    if held_client_time is None or not time_close(newer, held_client_time):
        kept_first = held_client_time is not None and time_close(older, held_client_time)
        if kept_first:
            # Holding the first does not say the second was refused: it may have been taken,
            # then the first put back by a flood of it (core, whatever the times' forms).
            raise_if_taken(context, pair, held)
            # Greater as a string too: a herd that keeps this first report keeps every first one.
            other = context.client_id()
            controls = [(context.location(), context.now_time(-10)), (context.location(), context.now_time())]
            later = controls[1][1]
            for control in controls:
                at_reply(context, name, other, *control)
            again = context.stored_line(name, other)
            again_time = held_time(context, name, again, controls)
            if again_time is None or not time_close(later, again_time):
                raise CheckFailed(
                    f"{name} keeps a client's first report: a later one with a greater client time "
                    "(as a value and as a string) does not replace it",
                    expected=f"a record with client time {later.decode()}",
                    seen=show(again),
                )
        if held_client_time is not None and not kept_first:
            # An AT line of the client with neither report's client time: not a record as the
            # client sent it (two student herds rebuild it from the WHATSAT's radius and
            # bound). whatsat-reply names a WHATSAT that does not return the stored line
            # (WHATSAT-5); which report is kept cannot be read from it.
            raise CheckUnsupported(
                f"{name} answers WHATSAT with {held!r}, whose client time {held_client_time!r} is "
                f"neither report's ({older.decode()} or {newer.decode()}): not the stored AT line "
                "(whatsat-reply judges that, WHATSAT-5), so which report it keeps cannot be seen"
            )
        raise CheckFailed(
            f"after reports with client times {older.decode()} then {newer.decode()}, {name} "
            + (
                f"kept the first, whose client time is smaller in value but greater as a string "
                f"({newer.decode()!r} sorts before {older.decode()!r})"
                if kept_first
                else "answers WHATSAT for the client with no AT line: it holds neither report"
            ),
            expected=f"a record with client time {newer.decode()}: {second!r}",
            seen=show(held),
        )
    _crossing_neighbours(context, pair, older)


def _crossing_neighbours(context: CheckContext, pair: Pair, older: bytes) -> None:
    """The servers the two reports were flooded to compare them too (FLOOD-2). One that holds
    nothing is flood-all's business; one that kept the first report is this check's. The
    server they were sent to, seen holding the second, is read again once they have been
    asked: holding the first by then, it had it put back."""
    name, client, second = pair.name, pair.client, pair.replies[1]
    neighbours = list(context.target.config.neighbours(name))
    since = "right after the two reports"
    # Where no neighbour shows a record of the client at all, flooding is flood-all's business;
    # waiting out the propagation time for it here would only spend the run's budget.
    if not any(context.stored_line(neighbour, client, silence_is_none=True) for neighbour in neighbours):
        raise_if_put_back(context, pair, since=since)
        return
    if is_malformed(second):
        # The AT replies are malformed (AT-1, at-reply-format's): what each neighbour holds is
        # read by the report its line carries.
        _crossing_at_neighbours(context, name, neighbours, client, list(pair.reports))
        return
    # The whole propagation time (a wait that ends once every neighbour holds the second): a
    # neighbour still holding the first after it is failed below, in every profile, so the
    # shorter wait of once_quiet (the third report's, which can only spare a FAIL) is not enough.
    arrived = context.wait_for_line(neighbours, client, second)
    raise_if_put_back(context, pair, since=since)
    kept = {
        neighbour: got
        for neighbour, got in arrived.items()
        if got is not None
        and got != second
        and (got_record := split_at_fields(got)) is not None
        and time_close(older, got_record.client_time)
    }
    if not kept:
        return
    # A third report, greater than both as a value and as a string: a neighbour that takes it
    # refused only the crossing one (FLOOD-2, this check's); one that does not take it either
    # gets no updates at all (flood-newest-wins names that, FLOOD-1).
    third_time = _third_time(older)
    third = _accepted(context, name, client, context.location(), third_time)
    took_third = once_quiet(context, name, list(kept), client, third)
    for neighbour, got in kept.items():
        if took_third.get(neighbour) == third:
            # Holding the first does not say it refused the second: a flood of the first that
            # came back may have put it back (core too, but not a string comparison).
            raise_if_taken_at(context, pair, neighbour, got)
            raise CheckFailed(
                f"{neighbour}, to which {name} flooded {pair.said}, kept the first, whose client time "
                f"is smaller in value but greater as a string (it did take a third, "
                f"{third_time.decode()}, greater both ways)",
                expected=f"{neighbour} holds {second!r}",
                seen=show(got),
            )


def _third_time(older: bytes) -> bytes:
    """A client time greater than both crossing times, as a value and as a string."""
    whole = older.partition(b".")[0]
    return b"9" * (len(whole) + 1) + older[len(whole) :]


def _crossing_at_neighbours(
    context: CheckContext, name: str, neighbours: list[str], client: bytes, reports: list[tuple[bytes, bytes]]
) -> None:
    """newer-by-value's crossing pair at ``name``'s neighbours, each record read by the report
    its line carries (the AT replies are malformed, AT-1): one that keeps the first report and
    takes a third, greater both ways, compares client times as strings."""
    older, newer = reports[0][1], reports[1][1]
    kept = [
        neighbour
        for neighbour, index in wait_for_report(context, neighbours, client, reports, 1).items()
        if index == 0
    ]
    held = {neighbour: context.stored_line(neighbour, client, silence_is_none=True) for neighbour in kept}
    # Still the first report when looked at again (the second may have come after the wait).
    kept = [neighbour for neighbour, line in held.items() if line and carried_report(line, reports) == 0]
    if not kept:
        return
    third = (context.location(), _third_time(older))
    _accepted(context, name, client, *third)
    took_third = once_quiet_report(context, name, kept, client, [*reports, third], wanted=2)
    for neighbour in kept:
        if took_third[neighbour] == 2:
            raise CheckFailed(
                f"{neighbour}, to which {name} flooded reports with client times {older.decode()} then "
                f"{newer.decode()}, kept the first, whose client time is smaller in value but greater "
                f"as a string (it did take a third, {third[1].decode()}, greater both ways)",
                expected=f"{neighbour} holds a line with the location {reports[1][0].decode()} and the "
                f"client time {newer.decode()}",
                seen=f"{show(held[neighbour])}: the first report's location and client time",
            )


def _accepted(context: CheckContext, name: str, client: bytes, location: bytes, client_time: bytes) -> bytes:
    """The AT reply to a report the check needs stored; a refused time is iamat-any-time's to
    judge (IAMAT-6 for its distance from the clock, LEX-6 for its form)."""
    reply = context.iamat(name, client, location, client_time)
    if not looks_like_at(reply.data):
        how = _fate(reply.received or None)
        raise CheckUnsupported(
            f"an IAMAT with client time {client_time.decode()} {how}, which iamat-any-time "
            "judges (IAMAT-6, or LEX-6 for the form of the time), so which report is kept cannot be seen"
        )
    return reply.data.partition(b"\n")[0]  # its shape is at-reply-format's (AT-1)


@check(
    "iamat-stale",
    "IAMAT-7",
    "MUST",
    "a duplicate or stale IAMAT gets a fresh AT reply and replaces no record at its server",
    requires=("dialect", "at-reply-format"),
    reads_malformed_at=True,
)
def iamat_stale(context: CheckContext) -> None:
    """IAMAT-4 and IAMAT-7 at the one server a client reports to, with no flooding involved (a
    herd that floods nothing, or whose flooding fails, is judged here all the same): a report
    with the stored client time (a duplicate) and an older one are each answered with an AT
    line for that report, never the stored record, and the server keeps the newest record.
    A duplicate that replaced the record is a strict deviation only: the course leaves equal
    timestamps open (SPEC decision A7; "most recent" may be read in arrival order); a stale
    one that did is core."""
    name = context.target.names[0]
    client = context.client_id()
    newest_time = context.now_time()
    reports = {"newest": (context.location(), newest_time)}
    newest_sent_ns = time.time_ns()
    newest = at_reply(context, name, client, *reports["newest"])
    newest_window = (newest_sent_ns, time.time_ns())
    # Let the record spread first (as far as the herd floods it, within the propagation time):
    # a herd that takes an equal client time for newer (a student herd) would otherwise swap the two
    # records between its servers for ever, a flood storm that outlives this check. (Where no
    # WHATSAT shows a record, the replies are still judged.)
    holders: list[str] = []
    # Where WHATSAT rebuilds the line without the stored client time, no record shows as sent
    # (records_unreadable): no wait; which report is kept is read by its location.
    if context.target.lookup_bound is not None and context.target.knowledge.records_unreadable is None:
        seen = context.wait_for_line(context.target.running, client, newest, any_record=True)
        holders = [holder for holder, line in seen.items() if line is not None]
    stale_time = context.now_time(-STALE_AGE_S)
    # Each report's reply and the record kept after it are judged, and every failure is named
    # in one FAIL: a herd that answered a stale IAMAT with its stored line (IAMAT-4) and also
    # stored the stale report (IAMAT-7, a student herd did both) has two defects, not one.
    failures: list[CheckFailed] = []
    for kind, client_time in (("duplicate", newest_time), ("stale", stale_time)):
        location = context.location()  # another location than the stored record's
        reports[kind] = (location, client_time)
        sent_ns = time.time_ns()
        line = at_reply(context, name, client, location, client_time)
        window = (sent_ns, time.time_ns())
        echoed_location, echoed_time = echoed(line, location, client_time)
        if not (time_close(client_time, echoed_time) and location_close(location, echoed_location)):
            failures.append(
                CheckFailed(
                    f"a {kind} IAMAT was answered with another report's AT line, not one for that IAMAT",
                    expected=f"AT {name} <diff> {client.decode()} {location.decode()} {client_time.decode()}",
                    seen=repr(line),
                    clause="IAMAT-4",
                )
            )
        elif kind == "stale":
            try:
                stored_reply = (newest, newest_time, newest_window)
                raise_if_stored_diff_reused(stored_reply, (line, client_time, window))
            except CheckFailed as reused:
                failures.append(reused)
        try:
            held, held_kind, how = kept_report(context, name, client, reports)
        except CheckUnsupported:
            if failures:
                break  # what is kept cannot be told; the replies' failures stand
            raise
        if held_kind == kind == "duplicate":
            context.defer_strict(
                CheckFailed(
                    f"{name} replaced its record of a client with that client's duplicate IAMAT (the "
                    "same client time, another location): equal times are duplicates in herdref's "
                    "strict profile (SPEC decision A7), a choice the course leaves open",
                    expected=repr(newest),
                    seen=repr(held),
                )
            )
        elif held_kind == "stale" or held_kind is None:
            gone = f"{name} no longer answers WHATSAT with a record of the client after its {kind} IAMAT"
            failures.append(
                CheckFailed(
                    f"{name} replaced its record of a client with that client's stale IAMAT"
                    + (f": {how}" if how else f" (a client time {STALE_AGE_S} s older than the record's)")
                    if held_kind == "stale"
                    else gone,
                    expected=repr(newest),
                    seen=show(held),
                    clause="IAMAT-7",
                )
            )
            break  # the newest record is gone: later reports would be judged against nothing
    if not failures:
        _stale_elsewhere_named_by_its_server(
            context, name, client, newest_time, holders=holders, failures=failures
        )
    if failures:
        raise named_together(failures)


def _stale_elsewhere_named_by_its_server(
    context: CheckContext,
    origin: str,
    client: bytes,
    newest_time: bytes,
    *,
    holders: list[str],
    failures: list[CheckFailed],
) -> None:
    """A stale IAMAT at a neighbour that holds the client's record from ``origin`` gets an AT
    reply in that neighbour's name (IAMAT-4, AT-1's server ID). At the origin the stored
    record's server and the receiving one are the same, so a herd that answers a stale report
    with the stored record's server ID shows it only elsewhere (a student herd did)."""
    # Only a neighbour seen holding the record: a WHATSAT for a client a server does not hold
    # yet is unknown-client's business (and kills some herds' servers).
    others = [name for name in neighbours_of(context.target, origin) if name in holders]
    if not others or context.target.lookup_bound is None or context.target.knowledge.does_not_flood:
        return
    other = others[0]
    held = context.stored_line(other, client, silence_is_none=True)
    if held is None or newest_time not in held.split():
        return  # the record did not reach it: what a stale report meets there is not this
    location, stale_time = context.location(), context.now_time(-STALE_AGE_S)
    line = at_reply(context, other, client, location, stale_time)
    fields = split_at_fields(line)
    if fields is not None and fields.server_id == origin.encode():
        failures.append(
            CheckFailed(
                f"a stale IAMAT at {other} was answered in the name of {origin}, the server of the "
                "record it holds, not its own",
                expected=f"AT {other} <diff> {client.decode()} {location.decode()} {stale_time.decode()}",
                seen=repr(line),
                clause="IAMAT-4",
            )
        )
