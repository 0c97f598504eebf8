"""A record whose client time is an odd form the herd takes stops circling too (FLOOD-2).

LEX-6 lenient lets a server take client times that Python's ``float()`` takes (``nan``, ``inf``,
``1e9``): taking them is a strict deviation only (invalid-time names it, NON-STRICT). But FLOOD-2
still binds: "This rule is what ends a flood: a record crosses each link a bounded number of
times". A herd that drops a record only when its time equals the stored one (``==`` on floats)
takes ``nan`` for a new record each time it comes back, since ``nan != nan``: the record circles
for ever, and a herd that relays back to the sender doubles it at each hop (a student herd:
thousands of connections, then no server answered). flood-storm watches an ordinary record, so
it cannot see this; this check watches, in the same way, one record for each odd form the herd
takes.

Each record is watched whatever the reply: one the herd refused ('?') holds no such record, and
no reply at all is invalid-time's to judge (ERR-4); a herd that takes none of the forms passes,
since no such record of it can circle. The herd is started again afterwards, so that
no record sent here (circling or not) is left for later checks; when one circled, the run learns
it (``odd_times_flood_forever``) and invalid-time sends no such form again."""

from __future__ import annotations

import contextlib
from typing import Final

from herdref.checker.checks.helpers import need_launcher, neighbours_of
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.sink import Sink
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckUnsupported, Target
from herdref.model.herd import components
from herdref.model.judge import looks_like_at

__all__ = ["ODD_TIMES", "flood_odd_time"]

#: The odd client times tried, one record each: not a number (equal to nothing, itself
#: included, under IEEE 754), infinity, and an exponent form (``float()`` takes all three; a
#: herd that compares them as floats, or as the strings it re-prints, may never see them equal).
ODD_TIMES: Final = (b"nan", b"inf", b"1e9")


@check(
    "flood-odd-time",
    "FLOOD-2",
    "MUST",
    "a record whose client time is an odd form the herd takes (nan, inf, 1e9) does not circle for ever",
    destructive=True,
    requires=("dialect", "flood-storm"),
)
def flood_odd_time(context: CheckContext) -> None:
    """Run right after flood-storm (herdref.checker.checks orders it), before any check that
    sends an odd time (invalid-time): a storm started there would slow every later check."""
    launcher = need_launcher(context)
    target = context.target
    sink_name, origin = _sink_and_origin(target)
    neighbours = neighbours_of(target, sink_name)
    limit = 4 * len(neighbours) + 4
    launcher.kill(sink_name)
    try:
        host, port = context.address(sink_name)
        with Sink(host, port) as sink:
            watched = _Watch(context, sink, sink_name, origin, limit)
            for form in ODD_TIMES:
                watched.send(form)
            watched.settle()
    finally:
        # Every record sent here goes with the processes: a circling one would slow every later
        # check, and one that stopped is of no use to them.
        context.transcript.note(
            f"the odd-time watch is over: the herd is started again ({sink_name} was killed)"
        )
        launcher.stop_all()
        launcher.start_all(deadline_s=target.startup_s)
    if not watched.taken:
        # A herd that takes none of them holds no such record: none can circle (the records
        # were watched all the same, above).
        context.transcript.note(f"{origin} took none of the odd client times (no AT reply)")


def _sink_and_origin(target: Target) -> tuple[str, str]:
    """The server to stop and listen in place of, and the server to send the IAMATs to. A herd
    that never sends a record back to the server it came from, nor to the server that took the
    IAMAT (the one its AT line names), loops only around a cycle of the others: where the
    topology has one, the listener is a neighbour of such a cycle and the origin outside both, so
    that a record that circles reaches the listener again and again. Else a cycle without the
    origin's exclusion, else (as flood-storm chooses) the server with the most neighbours: then
    only a herd that sends records back shows."""
    links = [tuple(pair) for pair in target.config.links]
    by_degree = sorted(target.names, key=lambda name: (-len(neighbours_of(target, name)), name))
    for sink in by_degree:
        up = [name for name in target.names if name != sink]
        for origin in up:
            rest = [name for name in up if name != origin]
            for neighbour in neighbours_of(target, sink):
                if (
                    neighbour != origin
                    and _on_cycle(neighbour, rest, links)
                    and any(origin in part and neighbour in part for part in components(up, links))
                ):
                    return sink, origin
    for sink in by_degree:
        up = [name for name in target.names if name != sink]
        for neighbour in neighbours_of(target, sink):
            if _on_cycle(neighbour, up, links):
                return sink, neighbour
    if not neighbours_of(target, by_degree[0]):
        raise CheckUnsupported("no server has a neighbour")
    return by_degree[0], neighbours_of(target, by_degree[0])[0]


def _on_cycle(name: str, servers: list[str], links: list[tuple[str, ...]]) -> bool:
    """Whether ``name`` lies on a cycle of the graph of ``servers``: one of its links is no
    bridge (its two ends stay connected without it)."""
    for link in links:
        if name not in link or not set(link) <= set(servers):
            continue
        other = next(end for end in link if end != name)
        rest = [pair for pair in links if pair != link]
        if any(name in part and other in part for part in components(servers, rest)):
            return True
    return False


class _Watch:
    """The records of odd client times sent to ``origin``, counted at the listener ``sink``: all
    are sent first, then watched together for one window (a storm shows within milliseconds;
    one window for all keeps the check short on a herd that takes every form)."""

    def __init__(self, context: CheckContext, sink: Sink, sink_name: str, origin: str, limit: int) -> None:
        self.context, self.sink, self.sink_name, self.origin, self.limit = (
            context,
            sink,
            sink_name,
            origin,
            limit,
        )
        #: form -> the octets that mark a copy of its record (its client ID between spaces).
        self.needles: dict[bytes, bytes] = {}
        #: The forms the herd took (an AT reply): a copy of each must reach the listener.
        self.taken: list[bytes] = []
        #: Whether a form got no reply at all on a connection the herd left open.
        self.silent = False

    def copies(self, form: bytes) -> int:
        return self.sink.count(self.needles[form])

    def _storming(self) -> None:
        """A storm of any record sent so far fails the check (FLOOD-2)."""
        for form in self.needles:
            if self.copies(form) > self.limit:
                _storm(
                    self.context,
                    f"client time {form.decode()}, which {self.origin} took (an AT reply),",
                    self.sink_name,
                    self.copies(form),
                    self.limit,
                )

    def send(self, form: bytes) -> bool:
        """Send an IAMAT with client time ``form`` for a fresh client; whether it was taken."""
        client = self.context.client_id("odd")
        needle = b" " + client + b" "
        line = b"IAMAT %s %s %s\n" % (client, self.context.location(), form)
        # Once one odd form was met with silence on a connection left open, the others are
        # waited for only Target.replay_silence_s: that silence is invalid-time's to judge
        # (ERR-4), not this check's, and three full timeouts would spend the run's budget.
        wait_s = self.context.target.replay_silence_s if self.silent else None
        reply = self.context.send(self.origin, line, timeout_s=wait_s)
        if not reply.data and not reply.closed and reply.error is None and not self.silent:
            self.silent = True
            self.context.transcript.note(
                f"client time {form.decode()}: no reply, the connection left open; the other odd "
                f"forms are waited for {self.context.target.replay_silence_s:g} s each"
            )
        if self.sink.count(needle) > self.limit:
            # Circling already: the reply may not even have come (a herd busy with the record).
            _storm(
                self.context,
                f"client time {form.decode()}, sent to {self.origin},",
                self.sink_name,
                self.sink.count(needle),
                self.limit,
            )
        self._storming()
        # Watched whatever the reply: a record flooded though its IAMAT was refused, or never
        # answered, is a record too.
        self.needles[form] = needle
        if not looks_like_at(reply.data):
            self.context.transcript.note(f"client time {form.decode()}: not taken (no AT reply)")
            return False
        self.taken.append(form)
        return True

    def settle(self) -> None:
        """Wait for a copy of each record taken, then one window for any to keep coming."""
        if not self.taken and not any(self.copies(form) for form in self.needles):
            # Every form refused and none flooded: nothing to watch for a window (a refusing
            # herd pays no wait).
            return
        propagation_s = self.context.target.propagation_s
        with contextlib.suppress(DeadlinePassed):
            wait_until(
                lambda: all(self.copies(form) >= 1 for form in self.taken),
                deadline_s=self.context.remaining(min(2.0, propagation_s)),
            )
        within_s = min(1.0, propagation_s)
        with contextlib.suppress(DeadlinePassed):
            wait_until(
                lambda: any(self.copies(form) > self.limit for form in self.needles),
                deadline_s=self.context.remaining(within_s),
            )
        self._storming()
        for form in self.needles:
            self.context.transcript.note(
                f"client time {form.decode()}: {self.copies(form)} copies of its record reached "
                f"{self.sink_name}'s port (at most {self.limit} allowed"
                + (
                    "; none came for a record taken: whether records spread is flood-all's business)"
                    if form in self.taken and not self.copies(form)
                    else ")"
                )
            )


def _storm(context: CheckContext, sent: str, sink_name: str, copies: int, limit: int) -> None:
    summary = (
        f"flood storm: the record of an IAMAT with {sent} kept arriving at {sink_name}'s port "
        f"({copies} copies, {sink_name} being down): servers take it for a new record each time it "
        "comes back"
    )
    context.learned["odd_times_flood_forever"] = summary
    raise CheckFailed(
        summary,
        expected=f"at most {limit} copies of a record (one per link, plus catch-up)",
        seen=f"{copies} copies of the record and counting",
    )
