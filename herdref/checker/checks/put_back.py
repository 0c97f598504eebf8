"""newer-by-value's evidence for which of two causes left a server holding the older of two reports.

FLOOD-2: a record replaces the stored one only when its client time is strictly greater. When a
server that was sent a client's report X and then a newer one Y answers WHATSAT with X, two
causes fit the same last line: its comparison refused Y (a string or float comparison, which
newer-by-value names by the times), or it took Y and X came back afterwards (its own flood of X
returning from a neighbour, taken without a comparison by value: a core defect whatever the gap
between the times). The comparison is named only where the transcript shows Y never taken; this
module looks for the evidence that it was:

* seen, then lost: the server answered WHATSAT with Y, and later with X, with nothing more sent
  for the client (:func:`raise_if_put_back`);
* taken and flooded: a neighbour holds Y, which only that server was sent
  (:func:`raise_if_taken`);
* taken when nothing can come back: the same two reports for another client, the second sent
  only once the first had reached every neighbour showing records, leave the server holding the
  second (:func:`raise_if_taken`): it takes the second, so the first time the older record was
  put back after the newer one.

A pair is described by :class:`Pair`; which report a line carries is the pair's own business (by
client time for newer-by-value's crossing pair, by location for its 1 ns pair).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from herdref.checker.checks.helpers import neighbours_of, show
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.target import CheckBlocked, CheckContext
from herdref.model.judge import looks_like_at

__all__ = ["Pair", "raise_if_put_back", "raise_if_taken", "raise_if_taken_at"]


def _put_back_failed(
    context: CheckContext, summary: str, *, expected: str, seen: str, strict_part: bool = False
) -> NoReturn:
    """FAIL (FLOOD-2, core): the older record was put back. Where flood-older-ignored already
    saw a server take an older record from a neighbour (``relay_takes_older``), that is how it
    came back: the defect is named there, and this check is BLOCKED by it, not a second FAIL."""
    relayed = context.target.knowledge.relay_takes_older
    if relayed is not None:
        raise CheckBlocked(
            "flood-older-ignored",
            "a server took the newer of two reports and then held the older again: a record came "
            f"back the way flood-older-ignored saw one taken ({relayed})",
        )
    raise CheckFailed(summary, expected=expected, seen=seen, strict_part=strict_part)


@dataclass(frozen=True)
class Pair:
    """Two reports of one client sent to ``name``, the first then the second (newer)."""

    name: str
    client: bytes
    #: ``(location, client time)`` of the first and second reports.
    reports: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]
    #: The AT replies to them (the second is the record a server should hold).
    replies: tuple[bytes, bytes]
    #: Which report a WHATSAT's AT line carries: 0 (the first), 1 (the second) or None.
    which: Callable[[bytes | None], int | None]
    #: The pair in words: "reports with client times X then Y".
    said: str
    #: What else the two times show, said with the way the first can come back (optional).
    hint: str = ""

    def put_back(self) -> str:
        """How the first report's record came back, in words true of every herd this fits."""
        return (
            "a record with a smaller client time replaced a newer one; nothing more was sent for the "
            "client, so the herd put it back itself (a flood of the first report coming back from a "
            "neighbour does that where flooded records are not compared by value"
            + (f"; {self.hint}" if self.hint else "")
            + ")"
        )


def raise_if_put_back(context: CheckContext, pair: Pair, *, since: str) -> None:
    """``pair.name`` was seen holding the second report: a WHATSAT now that shows the first
    proves the older record put back (FLOOD-2, core). ``since`` says when it was seen."""
    held = context.stored_line(pair.name, pair.client)
    if pair.which(held) != 0:
        return
    _put_back_failed(
        context,
        f"after {pair.said}, {pair.name} held the second (its WHATSAT showed it {since}) and now holds "
        f"the first again: {pair.put_back()}",
        expected=f"{pair.name} holds {pair.replies[1]!r}",
        seen=show(held),
        strict_part=False,
    )


def raise_if_taken(context: CheckContext, pair: Pair, held: bytes | None) -> None:
    """``pair.name`` holds the first report (``held``): FAIL (FLOOD-2, core) where the transcript
    shows that it took the second all the same; return where it does not (the comparison is
    then the cause, which the caller names)."""
    name = pair.name
    neighbours = neighbours_of(context.target, name)
    shown: dict[str, bytes | None] = {}
    for neighbour in neighbours:
        line = shown[neighbour] = context.stored_line(neighbour, pair.client, silence_is_none=True)
        if pair.which(line) == 1:
            _put_back_failed(
                context,
                f"{name} answered the second of {pair.said} and flooded it ({neighbour} holds it, and "
                f"only {name} was sent it), yet holds the first: {pair.put_back()}",
                expected=f"{name} holds {pair.replies[1]!r}",
                seen=show(held),
                strict_part=False,
            )
    flooding = [neighbour for neighbour, line in shown.items() if line is not None]
    if not flooding:
        return  # no neighbour shows a record of the client: nothing was flooded to come back
    again = _repeat(context, pair, flooding, [])
    if again is None or pair.which(again[name]) != 1:
        return
    _put_back_failed(
        context,
        f"after {pair.said}, {name} held the first; the same two reports for another client, the "
        f"second sent only once the first had reached {', '.join(flooding)}, left it holding the "
        f"second: it takes the second from the client, so the first time {pair.put_back()}",
        expected=f"{name} holds {pair.replies[1]!r}",
        seen=show(held),
        strict_part=False,
    )


def raise_if_taken_at(context: CheckContext, pair: Pair, neighbour: str, got: bytes | None) -> None:
    """``neighbour``, to which ``pair.name`` flooded both reports, holds the first (``got``):
    FAIL (FLOOD-2, core) where the same two reports for another client, the second sent once the
    first had reached the neighbours showing records, leave it holding the second (it takes the
    second, so the first time the older record was put back); return otherwise."""
    flooding = neighbours_of(context.target, pair.name)
    again = _repeat(context, pair, flooding, [neighbour])
    if again is None or pair.which(again[neighbour]) != 1:
        return
    _put_back_failed(
        context,
        f"{neighbour}, to which {pair.name} flooded {pair.said}, held the first; the same two reports "
        f"for another client, the second sent only once the first had reached {', '.join(flooding)}, "
        f"left it holding the second: it takes the second as flooded to it, so the first time "
        f"{pair.put_back()}",
        expected=f"{neighbour} holds {pair.replies[1]!r}",
        seen=show(got),
        strict_part=False,
    )


def _repeat(
    context: CheckContext, pair: Pair, flooding: list[str], watch: list[str]
) -> dict[str, bytes | None] | None:
    """The pair again for another client, the second sent once every server in ``flooding``
    shows a record of the first (its floods, and any that come back, are done): the line the
    server the pair is sent to then holds, and the line each server in ``watch`` holds once the
    second has had the propagation time to reach it; None if a report was refused
    (iamat-any-time's)."""
    client = context.client_id("again")
    first_location, first_time = pair.reports[0]
    first = context.iamat(pair.name, client, first_location, first_time).data.partition(b"\n")[0]
    if not looks_like_at(first):
        return None
    context.wait_for_line(flooding, client, first, any_record=True)
    # One more read of the server itself, so that a flood of the first coming back to it (sent
    # by the last neighbour to take it) has had a round trip to arrive before the second.
    context.stored_line(pair.name, client)
    second = context.iamat(pair.name, client, *pair.reports[1]).data.partition(b"\n")[0]
    if not looks_like_at(second):
        return None
    held: dict[str, bytes | None] = {pair.name: context.stored_line(pair.name, client)}
    if watch:
        held.update(context.wait_for_line(watch, client, second))
    return held
