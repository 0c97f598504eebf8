"""newer-by-value's second pair: two reports one nanosecond apart at the course's own precision.

FLOOD-2: "client time is strictly greater, compared as exact decimal values (...
``1.5000000001`` is greater)". A time of the handout's form (ten integer and nine fraction
digits, 19 significant) does not fit a binary float (about 16), so a herd that compares
``float()`` values takes a report 1 ns newer than the stored one for a duplicate and keeps the
older one, at the server the client reports to and at every server a flood reaches. The crossing
pair of newer-by-value (at most 13 significant digits) cannot show that. Telling apart times
closer than a float can is strict only (SPEC decision A7): the course's own clients send
``time.time()`` floats and its graders never send two reports that close, so a herd that compares
floats passes every course test; under lenient this is NON-STRICT.

Which report a server holds is read from its location (the two differ by a whole degree), not
its client time: a herd that re-prints times through a float echoes both the same (IAMAT-5's
business, not this check's). Holding the first is put down to a float comparison only where
nothing shows the second taken (:mod:`herdref.checker.checks.put_back`): a server seen holding
the second, or flooding it, or taking it when the pair is sent again with the first spread, had
the first put back afterwards, which FLOOD-2 forbids in every profile."""

from __future__ import annotations

import contextlib
import time
from typing import Final

from herdref.checker.checks.at_lines import is_malformed, wait_for_report
from herdref.checker.checks.helpers import show
from herdref.checker.checks.put_back import Pair, raise_if_put_back, raise_if_taken, raise_if_taken_at
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckFailed
from herdref.model.judge import carried_fields, carried_report, location_close, looks_like_at, split_at_fields

__all__ = ["nanosecond_pair", "once_quiet", "once_quiet_report", "one_nanosecond_newer"]

#: The two reports' locations: a whole degree apart, so that a float re-print cannot blur them.
FIRST_LOCATION: Final = b"+34.068930-118.445127"
SECOND_LOCATION: Final = b"+35.068930-119.445127"
THIRD_LOCATION: Final = b"+36.068930-120.445127"
#: How long a report (the pair's second, or the third) may still take to reach a neighbour once a
#: record reported after it has reached every neighbour (floods on connections of their own may
#: overtake).
_GRACE_S: Final = 1.0
#: How far in the past nanosecond_pair's times are (see there).
_PAIR_AGE_NS: Final = 2_000_000_000


def nanosecond_pair() -> tuple[bytes, bytes]:
    """Two client times of the handout's form, two seconds ago and 1 ns later (19 significant
    digits), that are the same binary float: a herd that compares times as floats takes them
    for equal. (Near 2**31 s binary floats are some 240 ns apart, so one pair in 240 straddles a
    rounding boundary; such a herd then passed, in a fresh-clone run. The pair 1 ns earlier does
    not.) In the past, so that newer-by-value's third report, a second later, is too: a herd
    that fails on a client clock ahead of its own is iamat-any-time's (IAMAT-6), not named again."""
    whole, nanoseconds = divmod(time.time_ns() - _PAIR_AGE_NS, 1_000_000_000)
    nanoseconds = min(nanoseconds, 999_999_998)
    pair = f"{whole}.{nanoseconds:09d}", f"{whole}.{nanoseconds + 1:09d}"
    if float(pair[0]) != float(pair[1]):
        nanoseconds += -1 if nanoseconds > 0 else 1
        pair = f"{whole}.{nanoseconds:09d}", f"{whole}.{nanoseconds + 1:09d}"
    return pair[0].encode(), pair[1].encode()


def _not_judged(context: CheckContext, reason: str) -> None:
    """The pair cannot be judged: newer-by-value stands on its crossing pair, and says why."""
    context.transcript.note(f"the 1 ns pair is not judged: {reason}")


def _held(context: CheckContext, line: bytes | None, times: tuple[bytes, bytes]) -> bytes | None:
    """Which report ``line`` (a WHATSAT's AT line) is: FIRST_LOCATION, SECOND_LOCATION or None.
    In a check that reads malformed AT lines (AT-1, at-reply-format's), a malformed one is the
    report whose location and client time (``times``: the first's, the second's) it carries."""
    record = split_at_fields(line) if line is not None else None
    if record is None:
        if line is None or context.malformed_at is None:
            return None
        index = carried_report(line, [(FIRST_LOCATION, times[0]), (SECOND_LOCATION, times[1])])
        return None if index is None else (FIRST_LOCATION, SECOND_LOCATION)[index]
    for location in (SECOND_LOCATION, FIRST_LOCATION):
        if location_close(location, record.location, float_forms=True):
            return location
    return None


def _time_field(line: bytes | None, location: bytes, client_time: bytes) -> bytes | None:
    """The client time ``line`` (an AT line of the report of ``location``) holds: its field when
    it has AT-1's shape, else the field that carries the time sent (None: none does)."""
    if line is None:
        return None
    record = split_at_fields(line)
    return record.client_time if record is not None else carried_fields(line, location, client_time)[1]


def _which(context: CheckContext, line: bytes | None, times: tuple[bytes, bytes]) -> int | None:
    """Which of the pair's reports ``line`` carries: 0 (the first), 1 (the second) or None."""
    held = _held(context, line, times)
    return None if held is None else 0 if held == FIRST_LOCATION else 1


def once_quiet(
    context: CheckContext, name: str, neighbours: list[str], client: bytes, second: bytes
) -> dict[str, bytes | None]:
    """What each of ``neighbours`` holds of ``client`` once the flood of its report ``second``
    (the AT line, as ``name`` answered it) has had its chance to arrive: a new client's record,
    reported to ``name`` after it, has reached them all by the same links, and then ``_GRACE_S``
    more. A herd that compares floats never takes the second of a pair, and one that floods a
    client's first record only never takes any update: waiting the whole propagation time for
    each (four waits in newer-by-value) cost student herds 16-20 s of their run's budget and left
    14 later checks unjudged, for findings that flood-newest-wins makes anyway."""
    _flood_after(context, name, neighbours)
    seen: dict[str, bytes | None] = {}

    def all_took_it() -> bool:
        for neighbour in neighbours:
            if seen.get(neighbour) != second:
                seen[neighbour] = context.stored_line(neighbour, client, silence_is_none=True)
        return all(got == second for got in seen.values())

    with contextlib.suppress(DeadlinePassed):
        wait_until(all_took_it, deadline_s=_GRACE_S)
    return seen


def once_quiet_report(
    context: CheckContext,
    name: str,
    neighbours: list[str],
    client: bytes,
    reports: list[tuple[bytes, bytes]],
    *,
    wanted: int,
) -> dict[str, int | None]:
    """:func:`once_quiet` where the AT replies are malformed (AT-1): which of ``reports`` each
    of ``neighbours`` holds (by the report its line carries), once a flood sent after
    ``reports[wanted]`` has had its chance to arrive; None where no line shows one."""
    _flood_after(context, name, neighbours)
    return wait_for_report(context, neighbours, client, reports, wanted, wait_s=_GRACE_S)


def _flood_after(context: CheckContext, name: str, neighbours: list[str]) -> None:
    """A new client's report at ``name``, waited for until ``neighbours`` hold it: a record
    ``name`` flooded before it has had its chance to reach them by the same links."""
    after = context.client_id("ns-after")
    reply = context.iamat(name, after, context.location(), context.now_time())
    if looks_like_at(reply.data):
        context.wait_for_line(neighbours, after, reply.data.partition(b"\n")[0], any_record=True)


def one_nanosecond_newer(context: CheckContext, name: str) -> None:
    """FLOOD-2 for two reports 1 ns apart, at ``name`` and at the neighbours it floods them to."""
    client = context.client_id("ns")
    older, newer = nanosecond_pair()
    replies = []
    for location, client_time in ((FIRST_LOCATION, older), (SECOND_LOCATION, newer)):
        reply = context.iamat(name, client, location, client_time)
        if not looks_like_at(reply.data):
            _not_judged(
                context,
                f"an IAMAT with client time {client_time.decode()} (nine fraction digits) was refused, "
                "which iamat-any-time judges, so which of two reports 1 ns apart is kept cannot be seen",
            )
            return
        replies.append(reply.data.partition(b"\n")[0])
    said = (
        f"reports with client times {older.decode()} then {newer.decode()} "
        "(1 ns later; 19 significant digits)"
    )
    pair = Pair(
        name=name,
        client=client,
        reports=((FIRST_LOCATION, older), (SECOND_LOCATION, newer)),
        replies=(replies[0], replies[1]),
        which=lambda line: _which(context, line, (older, newer)),
        said=said,
    )
    stored = context.stored_line(name, client)
    held = _held(context, stored, (older, newer))
    if held is None:
        _not_judged(
            context,
            f"after {said}, {name} answers WHATSAT with {stored!r}, which is neither report's AT line "
            "(whatsat-reply judges that, WHATSAT-5), so which one it keeps cannot be seen",
        )
        return
    if held == FIRST_LOCATION:
        echoes = [
            _time_field(reply, location, client_time)
            for reply, (location, client_time) in zip(
                replies, ((FIRST_LOCATION, older), (SECOND_LOCATION, newer)), strict=True
            )
        ]
        stored_time = _time_field(stored, FIRST_LOCATION, older)
        if stored_time is not None and stored_time != older:
            _not_judged(
                context,
                f"{name} kept the first of {said}, but holds its client time as "
                f"{stored_time.decode()} (re-printed: echo-exact and whatsat-reply judge "
                "that), so the second was a duplicate in its own terms",
            )
            return
        if echoes[0] is not None and echoes[0] == echoes[1]:
            # The herd echoed both times as one (re-printed through a float): it lost the
            # nanosecond when it read the time, which echo-exact names (IAMAT-5); in its own
            # terms the second report is a duplicate, so FLOOD-2 cannot be judged on the pair.
            _not_judged(
                context,
                f"after {said}, {name} kept the first, but it echoed both client times as "
                f"{echoes[0].decode()} (re-printed: echo-exact judges that, IAMAT-5), "
                "so the second was a duplicate in its own terms",
            )
            return
        # Holding the first does not say the second was refused (as a float comparison does):
        # it may have been taken, then the first put back by a flood of it (core).
        raise_if_taken(context, pair, stored)
        raise CheckFailed(
            f"after {said}, {name} kept the first: a client time 1 ns greater did not replace it, "
            "and nothing shows it was ever taken (compared as binary floats, the two are equal)",
            expected=f"a record with client time {newer.decode()}: {replies[1]!r}",
            seen=show(stored),
            strict_part=True,
        )
    neighbours = list(context.target.config.neighbours(name))
    # A neighbour holding nothing of the client is flood-all's business (FLOOD-1).
    since = "right after the two reports"
    if not any(context.stored_line(neighbour, client, silence_is_none=True) for neighbour in neighbours):
        raise_if_put_back(context, pair, since=since)
        return
    reports = [(FIRST_LOCATION, older), (SECOND_LOCATION, newer)]
    malformed = is_malformed(replies[1])
    if malformed:
        # The AT replies are malformed (AT-1, at-reply-format's): a wait for the line cannot
        # end, so each neighbour's record is read by the report its line carries.
        once_quiet_report(context, name, neighbours, client, reports, wanted=1)
        arrived = {
            neighbour: context.stored_line(neighbour, client, silence_is_none=True)
            for neighbour in neighbours
        }
    else:
        arrived = once_quiet(context, name, neighbours, client, replies[1])
    raise_if_put_back(context, pair, since=since)
    kept: dict[str, bytes | None] = {}
    for neighbour, got in arrived.items():
        if _held(context, got, (older, newer)) != FIRST_LOCATION:
            continue
        got_time = _time_field(got, FIRST_LOCATION, older)
        if got_time is not None and got_time != older:
            # The neighbour holds the first report with its time re-printed (fewer digits): it
            # lost the nanosecond when it read the flood, which flood-all names (FLOOD-5); in
            # its own terms the second record was a duplicate.
            _not_judged(
                context,
                f"{neighbour} kept the first of {said}, but holds its client time as "
                f"{got_time.decode()} (re-printed: flood-all judges that, FLOOD-5), "
                "so the second was a duplicate in its own terms",
            )
            continue
        kept[neighbour] = got
    if not kept:
        return
    # A third report, a second later: a neighbour that takes it refused only the one 1 ns newer
    # (FLOOD-2, this check's); one that does not take it either gets no updates at all
    # (flood-newest-wins names that, FLOOD-1).
    whole, _, fraction = older.partition(b".")
    third_time = b"%d.%s" % (int(whole) + 1, fraction)
    third = context.iamat(name, client, THIRD_LOCATION, third_time).data.partition(b"\n")[0]
    if malformed:
        indices = once_quiet_report(
            context, name, list(kept), client, [*reports, (THIRD_LOCATION, third_time)], wanted=2
        )
        took_third: dict[str, bytes | None] = {n: third for n, index in indices.items() if index == 2}
    else:
        took_third = once_quiet(context, name, list(kept), client, third)
    for neighbour, got in kept.items():
        if took_third.get(neighbour) == third:
            # Holding the first does not say it refused the second (as a float comparison does):
            # a flood of the first that came back may have put it back (core).
            raise_if_taken_at(context, pair, neighbour, got)
            raise CheckFailed(
                f"{neighbour}, to which {name} flooded {said}, kept the first: the flooded record "
                f"1 ns newer did not replace it (as binary floats the two are equal; it did take a "
                f"third, {third_time.decode()}, a second later)",
                expected=f"{neighbour} holds {replies[1]!r}",
                seen=show(got),
                strict_part=True,
            )
        _not_judged(
            context,
            f"{neighbour} kept the first of {said} and did not take a third a second later either: "
            "updates do not reach it at all (flood-newest-wins judges that, FLOOD-1)",
        )
