"""Flooding between servers (SPEC section 8, FLOOD)."""

from __future__ import annotations

import ast
import contextlib
import re
from functools import partial
from typing import Final

from herdref.checker.checks.at_lines import at_reply, is_malformed, require_arrival
from herdref.checker.checks.helpers import (
    failure_as,
    need_launcher,
    neighbours_of,
    no_error_reply_or,
    only_error_lines,
    reachable_without,
    show,
)
from herdref.checker.checks.nanosecond import nanosecond_pair
from herdref.checker.checks.records import carries_fields
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.checks.relinking import require_whole_again
from herdref.checker.checks.sink import Sink, end_storm, sink_server_for
from herdref.checker.checks.spreading import require_flood, require_spread
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.side_by_side import ask_each
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import carried_report, looks_like_at, split_at_fields

# ---- flooding ------------------------------------------------------------------------------


@check(
    "flood-storm",
    "FLOOD-2",
    "MUST",
    "records do not circle the herd for ever (looked for first: a storm slows every other check)",
    destructive=True,
    requires=("dialect",),
)
def flood_storm(context: CheckContext) -> None:
    """Run right after the dialect step (herdref.checker.checks orders it): a storm that the
    first IAMAT started grows with each later one and slows every reply, so that in section
    order the run's budget was spent before flood-no-loop ran (a student herd).
    Everything else about flooding is left to the flooding section."""
    _watch_sink(context, storm_only=True)


@check(
    "flood-no-loop",
    "FLOOD-2",
    "MUST",
    "a record crosses each link a bounded number of times",
    destructive=True,
    # It counts copies of the run's records, whatever their lines look like.
    reads_malformed_at=True,
)
def flood_no_loop(context: CheckContext) -> None:
    _watch_sink(context, storm_only=False)


#: How many pairs of crossing reports flood-storm sends (see _watch_sink): whether a pair's
#: floods cross is a race; three pairs missed on a loaded machine (a fresh-clone run), and five
#: missed in 2 of some 15 fresh-clone runs (corpus herd float_equal_replaces). Each pair costs
#: two IAMATs sent side by side.
_PAIRS: Final = 8


def _report_at(
    context: CheckContext, client: bytes, reports: dict[str, tuple[bytes, bytes]], reporter: str
) -> bytes:
    """The AT reply ``reporter`` gives to ``client``'s report there (its location and time)."""
    return at_reply(context, reporter, client, *reports[reporter])


def _watch_sink(context: CheckContext, *, storm_only: bool) -> None:
    """Kill the server with the most neighbours, listen on its port, send an IAMAT to one of
    its neighbours and count the copies of this run's records that arrive. ``storm_only``:
    judge only whether records keep arriving (FLOOD-2); no copy at all, or no AT reply, is
    UNSUPPORTED (flood-no-loop and the IAMAT checks judge those)."""
    launcher = need_launcher(context)
    target = context.target
    sink_name = sink_server_for(target)
    neighbours = neighbours_of(target, sink_name)
    if not neighbours:
        raise CheckUnsupported("no server has a neighbour")
    launcher.kill(sink_name)
    host, port = context.address(sink_name)
    limit = 4 * len(neighbours) + 4
    # Any record of this run may show a loop (a looping herd may be too busy to pass on the
    # newest one quickly).
    records = re.compile(rb"hv" + target.run_id.encode() + rb"\.[^ \t\n\r\f\v]+")
    # flood-storm: a second, newer report of the same client at another server, sent side by
    # side with the first: two versions of one record crossing each other is what starts a
    # storm in a herd that relays any line that differs from the one it holds (a student herd's
    # storm began only when a later check sent such a pair, and only when the two floods met:
    # sent one after the other, a reply apart, they met in one run of two).
    origin = neighbours[0]
    others = [name for name in target.names if name not in (sink_name, origin)]
    reporters = [origin, *others[:1]] if storm_only else [origin]
    with Sink(host, port) as sink:
        # The second report 1 ns newer than the first, whichever is answered first: equal as
        # binary floats, so a herd that takes a report whose time differs from the one it holds
        # and is not smaller as a float (`<=`) swaps the two for ever (a student herd; another
        # never stores the second, which newer-by-value judges). Whether the two floods cross
        # is a race (in one run of eight they did not): _PAIRS pairs, each a client of its own.
        answers: list[object] = []
        for _ in range(_PAIRS if storm_only else 1):
            client = context.client_id()
            times = nanosecond_pair()
            reports = {name: (context.location(), times[rank]) for rank, name in enumerate(reporters)}
            answers += ask_each(reporters, partial(_report_at, context, client, reports)).values()
        try:
            for answer in answers:
                if isinstance(answer, Exception):
                    raise answer
        except CheckFailed as failure:
            # A herd busy relaying records for ever may not answer at all: name the storm the
            # listener saw meanwhile, not its symptom.
            record, copies = sink.most_copies(records)
            if copies > limit:
                storm = _storm(sink_name, record, copies, limit, context.target.timeout_s)
                if storm_only:
                    context.learned["floods_forever"] = storm.summary
                end_storm(context)
                raise storm from None
            if storm_only:
                # No storm: the AT reply is at-reply-format's business (this runs before it).
                # Its words say what came back: a malformed AT line is a reply too.
                raise CheckUnsupported(
                    f"{failure.summary} (at-reply-format judges the reply), so its flood was not watched"
                ) from None
            raise
        try:
            wait_until(
                lambda: sink.most_copies(records)[1] >= 1,
                # A storm shows at once; a slow or missing flood is flood-no-loop's to judge.
                deadline_s=context.remaining(
                    min(2.0, target.propagation_s) if storm_only else target.propagation_s
                ),
            )
        except DeadlinePassed:
            sink.close()
            if storm_only:
                _restore(context, sink_name)
                # Maybe the herd does not flood at all: then every wait for a record to spread
                # (flood-no-loop's first) would pay its whole timeout before flood-all, the
                # check that names it (FLOOD-1), ran. It is judged next instead, on the fresh
                # herd, and flood-no-loop, which needs records to move, comes after it.
                target.knowledge.promote("flood-all", ahead_of=("flood-no-loop",))
                raise CheckUnsupported(
                    f"no neighbour sent a record to {sink_name}'s port within "
                    f"{min(2.0, target.propagation_s):g} s, so there was no flood to watch: flood-all "
                    "is judged next (FLOOD-1), then flood-no-loop"
                ) from None
            # Nothing came. A herd that does not flood at all shows it here first: if the
            # record does not reach the origin's other neighbours either (no server was
            # restarted on those links), name that (FLOOD-1), not a missing reconnection.
            _floods_at_all(context, origin, sink_name, f"none reached {sink_name}'s port")
            # Else a herd that does not reconnect to a restarted neighbour shows it here first;
            # name that (LINK-2) rather than leave it to the next checks.
            launcher.start(sink_name)
            launcher.wait_listening(sink_name, deadline_s=target.startup_s)
            require_whole_again(context, [sink_name])
            raise CheckUnsupported(
                f"no neighbour sent a record to {sink_name}'s port (cannot watch the links)"
            ) from None
        try:
            wait_until(
                lambda: sink.most_copies(records)[1] > limit,
                deadline_s=context.remaining(min(2.0, target.propagation_s)),
            )
            looping = True
        except DeadlinePassed:
            looping = False
        record, copies = sink.most_copies(records)
        context.transcript.note(
            f"most copies of one record received on {sink_name}'s port: {copies} ({record!r})"
        )
        if looping:
            storm = _storm(sink_name, record, copies, limit, min(2.0, target.propagation_s))
            if storm_only:  # the run then judges what one server does alone (knowledge)
                context.learned["floods_forever"] = storm.summary
            end_storm(context)
            raise storm
    if storm_only:
        _restore(context, sink_name)
        return
    launcher.start(sink_name)
    launcher.wait_listening(sink_name, deadline_s=target.startup_s)
    try:
        require_whole_again(context, [sink_name])
    except CheckFailed as failure:
        if failure.clause == "LINK-2":
            # Copies reached the listener, yet records from the restarted server reach no
            # neighbour: a herd whose servers cannot take a flood at all (the receiver fails on
            # it) shows it here first. Name that (FLOOD-1), not a missing reconnection (and
            # teach the run no missing reconnection either).
            reconnection = context.learned.pop("links_not_reopened", None)
            _floods_at_all(context, origin, sink_name, f"{failure.summary} ({failure.seen})")
            if reconnection is not None:
                context.learned["links_not_reopened"] = reconnection
        raise


def _floods_at_all(context: CheckContext, origin: str, left_out: str, why: str) -> None:
    """FLOOD-1 unless a record ``origin`` receives reaches its neighbours other than
    ``left_out`` (the server a check killed or restarted): with no server restarted on those
    links, a record that never arrives is a herd that does not flood, whatever ``why`` (what
    the check saw first) suggests."""
    others = [name for name in neighbours_of(context.target, origin) if name != left_out]
    if not others:
        return
    probe = context.client_id("no-flood")
    report = (context.location(), context.now_time())
    line = at_reply(context, origin, probe, *report)
    summary = (
        f"records are not flooded: {why}, and a record {origin} received never reached "
        f"{', '.join(others)} either"
    )
    with failure_as(summary, clause="FLOOD-1", only="FLOOD-1"):
        try:
            require_spread(context, origin, others, probe, line, report=report)
        except CheckFailed as failure:
            if failure.clause == "FLOOD-1":
                # Later waits for a record to spread end after one look (knowledge).
                context.learned["does_not_flood"] = summary
            raise


def _restore(context: CheckContext, name: str) -> None:
    """Start the whole herd again after the storm watch killed ``name``: every link is then
    fresh, so that a herd that never reconnects to a restarted neighbour (LINK-2, which
    flood-no-loop and restart-reconnect judge later) is not left cut off for every check."""
    launcher = need_launcher(context)
    context.transcript.note(f"the storm watch is over: the herd is started again ({name} was killed)")
    launcher.stop_all()
    launcher.start_all(deadline_s=context.target.startup_s)


def _storm(sink_name: str, record: bytes, copies: int, limit: int, within_s: float) -> CheckFailed:
    return CheckFailed(
        f"flood storm: a record kept arriving at {sink_name} ({copies} copies within {within_s:g} s): "
        "records go round the herd without end (a server passes on a record that is not newer than "
        "the one it holds, or two versions of one record keep replacing each other)",
        expected=f"at most {limit} copies of a record (one per link, plus catch-up)",
        seen=f"{copies} copies of {record!r} and counting",
    )


@check(
    "flood-all",
    "FLOOD-1",
    "MUST",
    "an IAMAT at any server reaches every server, as the same AT line",
    requires=("dialect", "at-reply-format", "flood-no-loop"),
    # Where the AT reply is malformed (AT-1, at-reply-format's), arrival is judged by the
    # location and client time each server's line carries (FLOOD-5's same line is not).
    reads_malformed_at=True,
)
def flood_all(context: CheckContext) -> None:
    for origin in context.target.names:
        client = context.client_id(origin)
        report = (context.location(), context.now_time())
        line = at_reply(context, origin, client, *report)
        holders = reachable_without(context.target, origin, set()) - {origin}
        try:
            require_spread(context, origin, holders, client, line, report=report, judge_reprints=True)
        except CheckFailed as failure:
            if failure.clause == "FLOOD-1":
                _learn_no_flooding(context, origin, sorted(holders), client)
            elif failure.clause == "FLOOD-5" and "relayed_spacing" not in context.learned:
                context.learned["relayed_lines_changed"] = f"flood-all: {failure.summary}"
            raise


def _learn_no_flooding(context: CheckContext, origin: str, holders: list[str], client: bytes) -> None:
    """Tell the run when a record reached no other server at all (the herd does not flood): the
    later waits for a record to spread then look once instead of waiting it out (FLOOD-1 is
    named here, once)."""
    if any(context.stored_line(name, client, silence_is_none=True) is not None for name in holders):
        return  # it spread, only not everywhere: the other checks' waits may still succeed
    context.learned["does_not_flood"] = (
        f"flood-all: a record {origin} received reached none of {', '.join(holders)} "
        f"within {context.target.propagation_s:g} s"
    )


@check(
    "flood-at-from-client",
    "FLOOD-6",
    "MUST",
    "an AT line from a client connection is a flood: no reply",
    # Its AT line has odd white space between fields (LEX-3): a herd that splits on single
    # spaces fails lex-extra-space, and its '?' here would be the same defect again.
    # It sees what each server holds only through WHATSAT (whatsat-reply, WHATSAT-5).
    requires=("dialect", "at-reply-format", "flood-all", "lex-extra-space", "whatsat-reply"),
    # The assignment leaves the server-to-server format free ("AT messages or some variant"),
    # so what a herd does with an AT line from a client is herdref's rule (SPEC A13): strict.
    strict_part=True,
    # The AT line is its own; where the herd's AT lines are malformed (AT-1, at-reply-format's)
    # and so are the lines its WHATSAT shows, only the record's arrival is judged.
    reads_malformed_at=True,
)
def flood_at_from_client(context: CheckContext) -> None:
    _not_after_at_storm(context)
    names = context.target.names
    origin = names[-1]
    client = context.client_id()
    report = (context.location(), context.now_time())
    # A server ID outside the herd: some herds skip the server an AT line names when relaying.
    at_line = b"AT Elsewhere +0.250000000 %s %s %s" % (client, *report)
    reply = context.send(origin, b"AT  %s\t%s" % tuple(at_line[3:].split(b" ", 1)) + b"\n")
    if reply.data and not only_error_lines(reply.data):
        # Neither '?' nor nothing, which FLOOD-6 lenient allows a herd with a format of its own:
        # an AT line back (a flood answered, FLOOD-6's core "sends no reply"), or words of the
        # herd's own, an acknowledgement say, which no profile lets reach a client (FRAME-6).
        # Student herds did both: an echo of the line, and "... received updated location".
        echoed = any(looks_like_at(line) for line in reply.data.split(b"\n"))
        failure = CheckFailed(
            "a valid AT line from a client was answered with "
            + ("an AT line: a flood gets no reply" if echoed else "text that is no reply of the protocol")
            + " (SPEC FLOOD-6 lenient allows a herd with a format of its own '? <line>' or no reply)",
            expected="no reply (or '? <line>')",
            seen=show(reply.received),
            clause="FLOOD-6" if echoed else "FRAME-6",
            strict_part=False,
        )
        # A herd whose '?' replies are words of its own (error-reply's ERR-1) answers this line
        # with them too: that one defect is named there, and this check is BLOCKED by it.
        raise failure if echoed else no_error_reply_or(context, reply, failure)
    if reply.data:
        raise CheckFailed(
            "a valid AT line from a client got a reply", expected="no reply", seen=show(reply.received)
        )
    # Every server, the one that was sent the line included, must end up holding it, in
    # canonical form although it came with odd white space (AT-3, FLOOD-5).
    try:
        if context.malformed_at is not None:
            require_arrival(context, f"{origin} (from a client)", names, client, report)
            held = [context.stored_line(name, client, silence_is_none=True) for name in names]
            if any(line is None or is_malformed(line) for line in held):
                context.transcript.note(
                    "the lines WHATSAT shows are malformed (AT-1, at-reply-format's): only the "
                    "record's arrival is judged, not its form"
                )
                return
        require_flood(context, f"{origin} (from a client)", names, client, at_line)
    except CheckFailed as failure:
        # Judged as a flood would be (FLOOD-1, FLOOD-5), but that a client's AT line is a flood
        # at all is FLOOD-6's strict rule: the deviation is FLOOD-6's, the clause it broke noted.
        summary = failure.summary
        with contextlib.suppress(ValueError, SyntaxError):
            seen = ast.literal_eval(failure.seen)
            if failure.clause == "FLOOD-5" and isinstance(seen, bytes) and b" ".join(seen.split()) == at_line:
                # What differs is the white space the client sent, kept (not the servers from
                # one another): said so, not "a different line on every server".
                summary = (
                    "the client's AT line is held with the white space it came with, not rewritten "
                    "with single spaces"
                )
        raise CheckFailed(
            summary + (f" (as {failure.clause} judges a flood)" if failure.clause else ""),
            expected=failure.expected,
            seen=failure.seen,
            clause="FLOOD-6",
            strict_part=True,
        ) from None


def _not_after_at_storm(context: CheckContext) -> None:
    """BLOCKED where an AT line a check sent went round the herd for ever: this check's own
    AT lines would start the storm again (knowledge at_lines_flood_forever)."""
    knowledge = context.target.knowledge
    if knowledge.at_lines_flood_forever is not None:
        raise CheckBlocked(
            knowledge.learned_by.get("at_lines_flood_forever", "flood-older-ignored"),
            knowledge.at_lines_flood_forever,
        )


#: How long a malformed AT line may take to be handled: a herd that answers it closes or
#: replies at once; one that drops it silently on a kept-open connection costs this much.
_AT_HANDLED_S = 1.0


@check(
    "flood-malformed-at",
    "FLOOD-6",
    "MUST",
    "a malformed AT line, as a neighbour might send it, is not stored",
    # The server-to-server format is the student's own (protocol notes A13): what a herd does
    # with a malformed line no neighbour of its own sends is herdref's reading, strict only.
    strict_part=True,
    # It sends AT lines of its own and reads what WHATSAT shows by their fields: the herd's AT
    # reply is never read (a malformed one, AT-1, is at-reply-format's).
    reads_malformed_at=True,
)
def flood_malformed_at(context: CheckContext) -> None:
    _not_after_at_storm(context)
    name = context.target.names[0]
    cases = [
        ("a location that is not ISO 6709", b"somewhere", context.now_time()),
        ("a client time that is not a number", context.location(), b"noon"),
    ]
    sent: list[tuple[str, bytes, bytes]] = []
    for what, location, client_time in cases:
        client = context.client_id("malformed")
        line = b"AT Elsewhere +0.250000000 %s %s %s" % (client, location, client_time)
        context.send(name, line + b"\n", timeout_s=_AT_HANDLED_S)
        sent.append((what, client, line))
    for what, client, line in sent:
        held = context.stored_line(name, client, silence_is_none=True)
        _, location, client_time = line.rsplit(b" ", 2)
        if held is not None and not carries_fields(held, location, client_time):
            # An AT-shaped answer with neither field of the line sent is no record of it (what
            # the server answers for a client it does not know: unknown-client's, WHATSAT-4).
            context.transcript.note(f"{name} answers {held!r}: no field of the line sent, so no record of it")
        elif held is not None:
            raise CheckFailed(
                f"{name} stored an AT line with {what} (sent on a connection of its own, as a "
                "neighbour sends a flood)",
                expected="no record of the client: the line is invalid ('? <line>' or nothing)",
                seen=f"sent {line!r}; WHATSAT answered {held!r}",
            )


@check(
    "flood-stale-not-sent",
    "FLOOD-2",
    "MUST",
    "a stale or duplicate IAMAT is not flooded",
    destructive=True,
    # Its stale time is newer as text: a herd that compares client times as strings fails
    # newer-by-value first (FLOOD-2 at the origin), and would fail here for the same defect;
    # a herd that stores a client's stale IAMAT (and so floods it) fails iamat-stale first.
    requires=("dialect", "at-reply-format", "flood-all", "newer-by-value", "iamat-stale"),
    # What crosses the link is seen by its locations, whatever the AT reply's shape (a malformed
    # one, AT-1, is at-reply-format's); what the origin then holds, by the report its line carries.
    reads_malformed_at=True,
)
def flood_stale_not_sent(context: CheckContext) -> None:
    """FLOOD-2: only a strictly newer record is flooded. A neighbour that holds the newest
    record would refuse a stale one anyway, so the neighbour is replaced by a listener on its
    port that sees every record sent to it (a catch-up herd's table included)."""
    launcher = need_launcher(context)
    target = context.target
    origin = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    neighbours = neighbours_of(target, origin)
    if not neighbours:
        raise CheckUnsupported("no server has a neighbour")
    observer = neighbours[0]
    client = context.client_id()
    newest_time = context.now_time()
    at_reply(context, origin, client, context.location(), newest_time)
    launcher.kill(observer)
    unwatched: CheckUnsupported | None = None
    try:
        with Sink(*context.address(observer)) as sink:
            copies = _require_sent(
                context, sink, origin, observer, "link", copies=len(neighbours_of(target, observer))
            )
            # A duplicate (the newest client time, another location: FLOOD-2 keeps the first),
            # then a stale one, at the server that holds the newest record; each location is
            # this check's own, so it shows in whatever the herd sends.
            duplicate, stale = context.location(), context.location()
            at_reply(context, origin, client, duplicate, newest_time)
            at_reply(context, origin, client, stale, _STALE_TIME)
            # Quiescence: a later record from the same server has overtaken what these caused.
            _require_sent(context, sink, origin, observer, "sentinel", copies=copies)
            sent = [
                what
                for what, location in (("a duplicate (equal client time)", duplicate), ("a stale", stale))
                if sink.saw(location)
            ]
    except CheckUnsupported as exc:
        unwatched = exc
    finally:
        launcher.start(observer)
        launcher.wait_listening(observer, deadline_s=target.startup_s)
    # A herd that does not reconnect to a restarted neighbour shows it here (LINK-2), and the
    # next check starts from a whole herd.
    require_whole_again(context, [observer])
    if unwatched is not None:
        raise unwatched
    if sent:
        # What a client sees is core: the origin answering WHATSAT with the stale or duplicate
        # record it should have ignored. What goes between servers is the herd's own format and
        # traffic (protocol notes A13): flooding a record that every server then ignores is
        # strict only.
        held = context.stored_line(origin, client, silence_is_none=True)
        record = split_at_fields(held) if held is not None else None
        reports = [(duplicate, newest_time), (stale, _STALE_TIME)]
        carried = (
            carried_report(held, reports) if held is not None and context.malformed_at is not None else None
        )
        replaced = record.location in (duplicate, stale) if record is not None else carried is not None
        # A duplicate (an equal client time) the origin took for newer is a choice the course
        # leaves open (SPEC decision A7, IAMAT-7's Strict part): strict only, stored or not.
        stale_replaced = record.location == stale if record is not None else carried == 1
        raise CheckFailed(
            f"{origin} flooded {' and '.join(sent)} IAMAT to its neighbour {observer}"
            + (" and now answers WHATSAT with it" if replaced else ""),
            expected="only a strictly newer record is stored and flooded: nothing after the newest "
            "one but the sentinel record",
            seen=f"{observer}'s port received {' and '.join(sent)} record (its location)"
            + (f"; {origin}'s WHATSAT answered {held!r}" if replaced else ""),
            strict_part=not stale_replaced,
        )


#: A stale client time with fewer integer digits than the current ones (2001): compared as
#: text it would be the newer one (IAMAT-6: any time is valid).
_STALE_TIME = b"999999999.999999999"

#: How long the listener waits for every neighbour's copy of a record before it settles for
#: the copies it has (a herd need not relay a record to a server its origin also reaches).
_COPIES_SETTLE_S = 0.5


def _require_sent(
    context: CheckContext, sink: Sink, origin: str, observer: str, label: str, *, copies: int
) -> int:
    """A new record at ``origin`` arrives at the listener on ``observer``'s port, in ``copies``
    copies if it comes to that within a moment (one per neighbour that relays it, the origin's
    own link included); returns how many came. Every path that delivered it has then
    delivered whatever was sent on it before, so a record queued at the origin while its link
    reconnected is not outrun by a copy relayed by another neighbour."""
    client = context.client_id(label)
    at_reply(context, origin, client, context.location(), context.now_time())
    try:
        wait_until(lambda: sink.saw(client), deadline_s=context.remaining(context.target.propagation_s))
    except DeadlinePassed:
        knowledge = context.target.knowledge
        if knowledge.links_not_reopened is not None:
            # The listener stands where a killed server was: only a link reopened to it shows
            # anything, and this herd reopens none (LINK-2, named by the check that saw it).
            raise CheckBlocked(
                knowledge.learned_by.get("links_not_reopened", "an earlier check"),
                f"a new record at {origin} never arrived at {observer}'s port, where a listener took "
                f"the place of the killed {observer}: the herd does not reopen a link to a restarted "
                f"server ({knowledge.links_not_reopened})",
            ) from None
        raise CheckUnsupported(
            f"a new record at {origin} never arrived at {observer}'s port (cannot watch the link)"
        ) from None
    with contextlib.suppress(DeadlinePassed):  # fewer copies than neighbours is allowed
        wait_until(lambda: sink.count(client) >= copies, deadline_s=context.remaining(_COPIES_SETTLE_S))
    return sink.count(client)
