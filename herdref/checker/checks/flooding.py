"""Flooding between servers (SPEC section 8, FLOOD)."""

from __future__ import annotations

import itertools
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterable

from herdref.checker.checks.helpers import (
    at_fields,
    at_reply,
    failure_as,
    need_launcher,
    neighbours_of,
    reachable_without,
    require_flood,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported, wait_until
from herdref.model import components
from herdref.model.judge import same_record, time_close

# ---- flooding ------------------------------------------------------------------------------


@check(
    "flood-no-loop",
    "FLOOD-2",
    "MUST",
    "a record crosses each link a bounded number of times",
    destructive=True,
)
def flood_no_loop(context: CheckContext) -> None:
    launcher = need_launcher(context)
    target = context.target
    sink_name = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    neighbours = neighbours_of(target, sink_name)
    if not neighbours:
        raise CheckUnsupported("no server has a neighbour")
    launcher.kill(sink_name)
    host, port = context.address(sink_name)
    with _Sink(host, port) as sink:
        client = context.client_id()
        origin = neighbours[0]
        at_reply(context, origin, client, context.location(), context.now_time())
        # Any record of this run may show a loop (a looping herd may be too busy to pass on
        # the newest one quickly).
        records = re.compile(rb"hv" + target.run_id.encode() + rb"\.[^ \t\n\r\f\v]+")
        arrived = wait_until(
            lambda: sink.most_copies(records)[1] >= 1, deadline_s=context.remaining(target.propagation_s)
        )
        if not arrived:
            sink.close()
            # Nothing came. A herd that does not flood at all shows it here first: if the
            # record does not reach the origin's other neighbours either (no server was
            # restarted on those links), name that (FLOOD-1), not a missing reconnection.
            others = [name for name in neighbours_of(target, origin) if name != sink_name]
            if others:
                probe = context.client_id("no-flood")
                line = at_reply(context, origin, probe, context.location(), context.now_time())
                with failure_as(
                    f"records are not flooded: none reached {sink_name}'s port, and a record {origin} "
                    f"received never reached {', '.join(others)} either",
                    clause="FLOOD-1",
                    only="FLOOD-1",
                ):
                    require_flood(context, origin, others, probe, line)
            # Else a herd that does not reconnect to a restarted neighbour shows it here first;
            # name that (LINK-2) rather than leave it to the next checks.
            launcher.start(sink_name)
            launcher.wait_listening(sink_name, deadline_s=target.startup_s)
            _require_whole_again(context, [sink_name])
            raise CheckUnsupported(
                f"no neighbour sent a record to {sink_name}'s port (cannot watch the links)"
            )
        limit = 4 * len(neighbours) + 4
        looping = wait_until(
            lambda: sink.most_copies(records)[1] > limit,
            deadline_s=context.remaining(min(2.0, target.propagation_s)),
        )
        record, copies = sink.most_copies(records)
        context.transcript.note(
            f"most copies of one record received on {sink_name}'s port: {copies} ({record!r})"
        )
        if looping:
            raise CheckFailed(
                f"flood storm: a record kept arriving at {sink_name} ({copies} copies within "
                f"{min(2.0, target.propagation_s):g} s): servers relay records they already hold",
                expected=f"at most {limit} copies of a record (one per link, plus catch-up)",
                seen=f"{copies} copies of {record!r} and counting",
            )
    launcher.start(sink_name)
    launcher.wait_listening(sink_name, deadline_s=target.startup_s)
    _require_whole_again(context, [sink_name])


class _Sink:
    """A listener that accepts connections on a dead server's port and counts what arrives."""

    def __init__(self, host: str, port: int) -> None:
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.settimeout(0.1)
        self.data = bytearray()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (the port is free for the server again); idempotent."""
        self.stopped.set()
        for thread in self.threads:
            thread.join(2)
        self.listener.close()

    def most_copies(self, pattern: re.Pattern[bytes]) -> tuple[bytes, int]:
        """The record (matched by ``pattern``) received most often, and how often."""
        with self.lock:
            counts = Counter(pattern.findall(bytes(self.data)))
        return counts.most_common(1)[0] if counts else (b"", 0)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._read, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _read(self, connection: socket.socket) -> None:
        connection.settimeout(0.1)
        with connection:
            while not self.stopped.is_set():
                try:
                    chunk = connection.recv(65_536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    self.data += chunk


@check(
    "flood-all",
    "FLOOD-1",
    "MUST",
    "an IAMAT at any server reaches every server, as the same AT line",
    requires=("dialect", "at-reply-format", "flood-no-loop"),
)
def flood_all(context: CheckContext) -> None:
    for origin in context.target.names:
        client = context.client_id(origin)
        line = at_reply(context, origin, client, context.location(), context.now_time())
        require_flood(context, origin, reachable_without(context.target, origin, set()), client, line)


@check(
    "flood-at-from-client",
    "FLOOD-6",
    "MUST",
    "an AT line from a client connection is a flood: no reply",
    requires=("dialect", "at-reply-format", "flood-all"),
    # The assignment leaves the server-to-server format free ("AT messages or some variant"),
    # so what a herd does with an AT line from a client is herdref's rule (SPEC A13): strict.
    strict_part=True,
)
def flood_at_from_client(context: CheckContext) -> None:
    names = context.target.names
    origin = names[-1]
    client = context.client_id()
    # A server ID outside the herd: some herds skip the server an AT line names when relaying.
    at_line = b"AT Elsewhere +0.250000000 %s %s %s" % (client, context.location(), context.now_time())
    reply = context.send(origin, b"AT  %s\t%s" % tuple(at_line[3:].split(b" ", 1)) + b"\n")
    if reply.data:
        raise CheckFailed(
            "a valid AT line from a client got a reply", expected="no reply", seen=show(reply.data)
        )
    # Every server, the one that was sent the line included, must end up holding it, in
    # canonical form although it came with odd white space (AT-3, FLOOD-5).
    try:
        require_flood(context, f"{origin} (from a client)", names, client, at_line)
    except CheckFailed as failure:
        raise CheckFailed(
            failure.summary,
            expected=failure.expected,
            seen=failure.seen,
            clause=failure.clause,
            strict_part=True,
        ) from None


@check(
    "flood-newest-wins",
    "FLOOD-2",
    "MUST",
    "a stale or duplicate IAMAT neither replaces nor floods",
    requires=("dialect", "at-reply-format", "flood-all"),
)
def flood_newest_wins(context: CheckContext) -> None:
    names = context.target.names
    origin, other = names[0], names[-1]
    client = context.client_id()
    newest_time = context.now_time()
    newest = at_reply(context, origin, client, context.location(), newest_time)
    require_flood(context, origin, names, client, newest)
    older = context.now_time(-100)
    stale_reply = at_reply(context, other, client, context.location(), older)
    if not time_close(older, at_fields(stale_reply).client_time):
        raise CheckFailed(
            "a stale IAMAT was not answered with an AT line for that IAMAT",
            expected=f"an AT line ending {older!r}",
            seen=repr(stale_reply),
            clause="IAMAT-4",
        )
    at_reply(context, other, client, context.location(), newest_time)  # duplicate time: also ignored
    # Quiescence: a later record from the same server, once everywhere, has overtaken
    # anything the stale one could have caused.
    sentinel = context.client_id("sentinel")
    sentinel_line = at_reply(context, other, sentinel, context.location(), context.now_time())
    require_flood(context, other, names, sentinel, sentinel_line)
    for name in names:
        held = context.stored_line(name, client)
        # The newest record, possibly re-printed on the way (require_flood noted that, FLOOD-5).
        if held is None or not same_record(held, newest):
            raise CheckFailed(
                f"{name} replaced the newest record with an older or equal-time one",
                expected=repr(newest),
                seen=show(held),
            )


def _pairs_to_check(context: CheckContext, *, quick: bool) -> list[tuple[str, str]]:
    names = context.target.names
    pairs = list(itertools.combinations(names, 2))
    if not quick:
        return pairs

    # Quick: one pair that leaves the survivors connected and one that cuts them apart.
    def parts_without(pair: tuple[str, str]) -> int:
        return len(components([name for name in names if name not in pair], context.target.config.links))

    connected = [pair for pair in pairs if parts_without(pair) == 1]
    cut = [pair for pair in pairs if parts_without(pair) > 1]
    return connected[:1] + cut[:1]


def _flood_with_pairs_down(context: CheckContext, pairs: list[tuple[str, str]]) -> None:
    launcher = need_launcher(context)
    target = context.target
    for pair in pairs:
        down = set(pair)
        context.transcript.note(f"killing {pair[0]} and {pair[1]}")
        for name in pair:
            launcher.kill(name)
        survivors = set(target.names) - down
        for part in components(sorted(survivors), target.config.links):
            component = set(part)
            origin = min(component)
            client = context.client_id(f"{origin}-without-{pair[0]}-{pair[1]}")
            line = at_reply(context, origin, client, context.location(), context.now_time())
            require_flood(context, origin, component, client, line)
            outsiders = sorted(survivors - component)
            for name in outsiders:
                held = context.stored_line(name, client, silence_is_none=True)
                if held is not None:
                    raise CheckFailed(
                        f"{name} holds a record it cannot have got over the herd's links "
                        f"({pair[0]} and {pair[1]} are down)",
                        expected="no record: servers talk only with their configured neighbours",
                        seen=repr(held),
                        clause="FLOOD-4",
                    )
        for name in pair:
            launcher.start(name)
        for name in pair:
            launcher.wait_listening(name, deadline_s=target.startup_s)
        _require_whole_again(context, pair)


def _require_whole_again(context: CheckContext, restarted: Iterable[str]) -> None:
    """LINK-2: once restarted, each server's links work again both ways: its records reach its
    neighbours and theirs reach it (so the next case starts from a working herd, and a missing
    reconnection is named as such). Reaching further is FLOOD-1's business."""
    for name in restarted:
        client = context.client_id(f"{name}-back")
        line = at_reply(context, name, client, context.location(), context.now_time())
        with failure_as(
            f"after {name} restarted, its records did not reach its neighbours",
            clause="LINK-2",
            only="FLOOD-1",
        ):
            require_flood(context, name, neighbours_of(context.target, name), client, line)
        # And the other way: its neighbours reach it again (they must reconnect to it).
        for neighbour in neighbours_of(context.target, name):
            client = context.client_id(f"{neighbour}-to-{name}")
            line = at_reply(context, neighbour, client, context.location(), context.now_time())
            with failure_as(
                f"after {name} restarted, a record created at its neighbour {neighbour} never reached it",
                clause="LINK-2",
                only="FLOOD-1",
            ):
                require_flood(context, neighbour, [name], client, line)


@check(
    "flood-pairs-quick",
    "FLOOD-1",
    "MUST",
    "flooding with two servers down (one connected, one cut case)",
    destructive=True,
    quick_only=True,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def flood_pairs_quick(context: CheckContext) -> None:
    _flood_with_pairs_down(context, _pairs_to_check(context, quick=True))


@check(
    "flood-pairs",
    "FLOOD-1",
    "MUST",
    "flooding with each of the ten pairs of servers down (survivors cut apart included)",
    destructive=True,
    quick=False,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def flood_pairs(context: CheckContext) -> None:
    _flood_with_pairs_down(context, _pairs_to_check(context, quick=False))
