"""Links, restarts, paused neighbours and the catch-up extension (SPEC sections 10, 11), and
flooding with servers down (FLOOD-1, FLOOD-4), which needs links that survive kills first."""

from __future__ import annotations

import contextlib
import itertools
import signal
import time
from collections.abc import Collection, Iterator
from typing import Final

from herdref.checker.checks.at_lines import at_reply, echoed
from herdref.checker.checks.helpers import (
    failure_as,
    need_launcher,
    neighbours_of,
    reachable_without,
    show,
    start_again_if_exited,
)
from herdref.checker.checks.records import carries_fields
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.checks.relinking import require_whole_again
from herdref.checker.checks.spreading import require_flood, require_spread
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.socket_queues import PortQueues, how_floods_wait, port_queues
from herdref.checker.target import BudgetSpent, CheckContext, Target
from herdref.model import components
from herdref.model.judge import looks_like_at

#: Flood traffic queued for a stopped neighbour: more than the socket buffers of one loopback
#: link hold (about 4 MiB with Linux's default tcp_wmem and tcp_rmem), so a herd that writes
#: floods synchronously blocks inside this much, and one that queues them does not.
_FILL_BYTES: Final = 6 * 2**20
#: Where the kernel's queues can be read, filling goes on past _FILL_BYTES until this much more
#: was sent after the stopped neighbour's unread octets last grew (more than a send buffer
#: holds, tcp_wmem's 4 MiB): a link whose receive buffer grew when the neighbour last read fast
#: (Linux tunes it up to tcp_rmem's maximum, 32 MiB here) takes far more than 6 MiB before a
#: synchronous writer blocks, and a run that stopped at 6 MiB then passed it (FLAKY).
_FILL_MARGIN_BYTES: Final = 5 * 2**20
#: The most a fill sends, whatever the queues show.
_FILL_MAX_BYTES: Final = 48 * 2**20
#: How often (in records) the queues are read while filling.
_FILL_LOOK_EVERY: Final = 8
#: The client ID of the bulk records: a line of about 15 KB, under Twisted's LineReceiver
#: limit (16 KiB) and any stream limit a herd is likely to have.
_FILL_CLIENT_OCTETS: Final = 15_000
#: The client ID of the bulk records for a herd seen to take a line this long (under asyncio's
#: 64 KiB readline limit): a quarter as many records fill the link, and on slow herds the cost
#: is per record (a connection, a parse and a flood each: a student herd took 19 s for the
#: 419 records of 15 KB, most of its run's budget).
_FILL_BIG_CLIENT_OCTETS: Final = 60_000
#: A reply slower than this shows a herd that waits on each flood's own connection (the
#: stopped neighbour's accept queue is full): its buffers are not what is being tested, so the
#: filling stops there.
_FILL_SLOW_REPLY_S: Final = 1.0

# ---- links ---------------------------------------------------------------------------------


def _restart_case(context: CheckContext, sig: int) -> None:
    launcher = need_launcher(context)
    target = context.target
    # A server with the most neighbours, the first of them in the herd file: a herd that floods
    # its neighbours in turn and gives up at a refused connection (LINK-4) shows it only where
    # the dead server comes before another neighbour in that turn, which herds mostly take in
    # the herd file's order. The last of them (the earlier choice, by name in a herd file
    # listed by name) comes after every other, and hid that defect.
    victim = max(target.names, key=lambda name: (len(neighbours_of(target, name)), -target.names.index(name)))
    neighbour = neighbours_of(target, victim)[0]
    launcher.kill(victim, sig)
    while_down = context.client_id("while-down")
    # LINK-4: a neighbour that is down delays no reply (a flood that fails on a refused
    # connection must not cost the client its AT line).
    with failure_as(
        f"{neighbour} did not answer an IAMAT while its neighbour {victim} was down",
        clause="LINK-4",
        only="IAMAT-4",
    ):
        report = (context.location(), context.now_time())
        line = at_reply(context, neighbour, while_down, *report)
    holders = reachable_without(target, neighbour, {victim})
    with _held_up_by(context, victim, "down", holders):
        require_spread(context, neighbour, holders, while_down, line, report=report)
    launcher.start(victim)
    launcher.wait_listening(victim, deadline_s=target.startup_s)
    known = target.knowledge.links_not_reopened
    if known is not None:
        # LINK-2 (a restarted server's links come back) was seen broken by an earlier check:
        # the same defect, named once, there.
        raise CheckBlocked(
            target.knowledge.learned_by.get("links_not_reopened", "an earlier check"),
            f"{neighbour} answered and flooded while {victim} was down (LINK-4 held); whether records "
            f"flow again after {victim}'s restart is the missing reconnection already seen ({known})",
        )
    try:
        after = context.client_id("after-restart")
        report = (context.location(), context.now_time())
        line = at_reply(context, neighbour, after, *report)
        with failure_as(
            f"{neighbour} did not get a new record to {victim} after {victim} restarted", only="FLOOD-1"
        ):
            require_spread(context, neighbour, [victim], after, line, report=report)
        outgoing = context.client_id("from-restarted")
        report = (context.location(), context.now_time())
        line = at_reply(context, victim, outgoing, *report)
        with failure_as(f"{victim}, restarted, did not flood a new record to {neighbour}", only="FLOOD-1"):
            require_spread(context, victim, [neighbour], outgoing, line, report=report)
    except CheckFailed as failure:
        if failure.clause in (None, "LINK-2"):
            context.learned["links_not_reopened"] = failure.summary
        raise


@check(
    "restart-reconnect",
    "LINK-2",
    "MUST",
    "a SIGKILLed neighbour delays no reply (LINK-4); after its restart, records flow both ways again",
    destructive=True,
    requires=("dialect", "at-reply-format", "flood-all"),
    # Records flow or not whatever their AT lines look like: a malformed one (AT-1,
    # at-reply-format's) is followed by the location and client time it carries.
    reads_malformed_at=True,
)
def restart_reconnect(context: CheckContext) -> None:
    _restart_case(context, signal.SIGKILL)


@check(
    "restart-after-sigterm",
    "LINK-2",
    "MUST",
    "after SIGTERM and restart, records flow both ways again",
    destructive=True,
    requires=("dialect", "at-reply-format", "flood-all", "restart-reconnect"),
    reads_malformed_at=True,  # as restart-reconnect
)
def restart_after_sigterm(context: CheckContext) -> None:
    _restart_case(context, signal.SIGTERM)


@check(
    "paused-neighbour",
    "LINK-4",
    "MUST",
    "a SIGSTOPped neighbour blocks neither replies nor flooding",
    destructive=True,
    # LINK-4's Strict part: the course's fault model is a server that goes down (its
    # connections dropped), not one that is stopped with its connections open.
    strict_part=True,
    # A herd whose replies wait on a dead neighbour (restart-reconnect's LINK-4) waits on a
    # stopped one too once its accept queue is full: one defect, named there.
    requires=("dialect", "at-reply-format", "flood-all", "restart-reconnect"),
    # Any AT-shaped reply will do, and a record's arrival is followed by its location and time.
    reads_malformed_at=True,
)
def paused_neighbour(context: CheckContext) -> None:
    launcher = need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    octets = _record_octets(context, neighbours_of(target, victim)[0])
    launcher.pause(victim)
    try:
        _with_neighbour_stopped(context, victim, octets)
    except CheckFailed as failure:
        if failure.clause in (None, "LINK-4"):
            context.learned["stopped_neighbour_blocks"] = f"{failure.summary} (paused-neighbour)"
        raise
    finally:
        launcher.resume(victim)
        _drained(context, neighbours_of(target, victim)[0])


def _drained(context: CheckContext, name: str) -> None:
    """Wait, up to the reply timeout, until ``name`` answers an IAMAT again: a herd blocked on
    the stopped neighbour's full link goes on once it reads again, and the next check (or this
    one's replay) must not start while the backlog still holds it up."""
    client = context.client_id("drained")

    def answers() -> bool:
        return looks_like_at(context.iamat(name, client, context.location(), context.now_time()).data)

    with contextlib.suppress(DeadlinePassed, BudgetSpent):
        wait_until(
            answers,
            deadline_s=context.remaining(context.target.timeout_s),
            poll_s=0.1,
        )


def _record_octets(context: CheckContext, name: str) -> int:
    """The client ID length of the records that fill the link: _FILL_BIG_CLIENT_OCTETS where
    ``name`` answers an IAMAT with such a client ID (asked before any neighbour is stopped),
    else _FILL_CLIENT_OCTETS. A server that exits on the long line is started again."""
    client = context.client_id("big")
    client += b"." + b"x" * (_FILL_BIG_CLIENT_OCTETS - len(client))
    reply = context.send(
        name, b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()), record=False
    )
    taken = looks_like_at(reply.data) and client in reply.data
    context.transcript.note(
        f"{name} was sent an IAMAT with a {_FILL_BIG_CLIENT_OCTETS}-octet client ID and "
        + (
            f"answered it: the link is filled with records of {_FILL_BIG_CLIENT_OCTETS // 1000} KB"
            if taken
            else f"did not answer it with its AT line: records of {_FILL_CLIENT_OCTETS // 1000} KB"
        )
    )
    if not taken:
        start_again_if_exited(context, name, None)
    return _FILL_BIG_CLIENT_OCTETS if taken else _FILL_CLIENT_OCTETS


def _with_neighbour_stopped(context: CheckContext, victim: str, octets: int) -> None:
    """Each neighbour of the stopped ``victim`` answers an IAMAT and floods it to the others;
    then the link to ``victim`` is filled with records of ``octets`` (:func:`_fill_link`)."""
    target = context.target
    for neighbour in neighbours_of(target, victim):
        client = context.client_id(f"via-{neighbour}")
        report = (context.location(), context.now_time())
        reply = context.iamat(neighbour, client, *report)
        if not looks_like_at(reply.data):
            raise CheckFailed(
                f"{neighbour} did not answer an IAMAT while its neighbour {victim} was stopped",
                expected="an AT line within the timeout",
                seen=show(reply.received) + f" after {target.timeout_s:g} s",
            )
        line = reply.data.split(b"\n", 1)[0]
        holders = reachable_without(target, neighbour, {victim})
        with _held_up_by(context, victim, "stopped", holders):
            require_spread(context, neighbour, holders, client, line, report=report)
    _fill_link(context, neighbours_of(target, victim)[0], victim, octets)


@contextlib.contextmanager
def _held_up_by(context: CheckContext, victim: str, state: str, holders: Collection[str]) -> Iterator[None]:
    """A record that does not reach a server while ``victim`` is ``state`` (down, stopped),
    though a path of running servers leads there, was held up by that neighbour: flood-all,
    a prerequisite, saw records reach every server with all of them running. LINK-4: "A
    neighbour that is down, stopped (e.g. SIGSTOP) or not reading delays neither the replies to
    clients nor the floods to other neighbours" (a herd that floods the neighbours in turn,
    stopping at a refused connection or waiting on each one, is the usual cause), so that is the
    clause broken, not FLOOD-1; unless the isolation experiment (:func:`_isolate_link`) shows
    the link the record should have crossed carries no flood even with ``victim`` running."""
    try:
        yield
    except CheckFailed as failure:
        if failure.clause != "FLOOD-1":
            raise
        _isolate_link(context, victim, state, set(holders) - set(failure.missing), failure.missing)
        raise CheckFailed(
            f"with {victim} {state}, {failure.summary}, though a path of running servers leads "
            f"there: a {state} neighbour must hold up no flood to the others",
            expected=failure.expected,
            seen=failure.seen,
            clause="LINK-4",
            missing=failure.missing,
        ) from None


def _isolate_link(
    context: CheckContext, victim: str, state: str, reached: Collection[str], missing: Collection[str]
) -> None:
    """Tell a neighbour that holds up floods (LINK-4) from a link that carries none (FLOOD-1: a
    neighbour table that leaves a neighbour out, in one direction only, still lets flood-all
    pass over other paths). Take a server ``missed`` the record never reached and a neighbour of
    it, ``sender``, that it did reach; make every neighbour of ``sender`` run (``victim`` back,
    if it is one) and every other neighbour of ``missed`` be down (``victim``, or killed), so
    that ``missed`` can get a record made at ``sender`` from ``sender`` alone and nothing can
    hold that flood up. If it still never arrives, the link carries no flood: FLOOD-1
    (raised). If it does, ``victim`` being ``state`` held the first record up (LINK-4, the
    caller's). Where no such pair exists, nothing is told apart (and the transcript says so)."""
    target, launcher = context.target, need_launcher(context)
    for missed, sender in itertools.product(sorted(missing), sorted(reached)):
        if sender not in neighbours_of(target, missed):
            continue
        others = [name for name in neighbours_of(target, missed) if name != sender]
        bring_back = victim in neighbours_of(target, sender)
        killed = [name for name in others if name != victim or bring_back]
        if (bring_back and victim in others) or set(killed) & set(neighbours_of(target, sender)):
            continue
        if bring_back and state == "down":
            launcher.start(victim)
            launcher.wait_listening(victim, deadline_s=target.startup_s)
        elif bring_back:
            launcher.resume(victim)
        for name in killed:
            launcher.kill(name)
        down = [*killed, *([] if bring_back else [victim])]
        context.transcript.note(
            f"isolating the link {sender}-{missed}: every neighbour of {sender} runs"
            + (f" ({victim} again)" if bring_back else "")
            + (f", and {', '.join(down)} (the other neighbours of {missed}) are down" if down else "")
            + f", so {missed} can get a record made at {sender} from {sender} alone"
        )
        client = context.client_id("isolate")
        report = (context.location(), context.now_time())
        line = at_reply(context, sender, client, *report)
        try:
            require_spread(context, sender, [missed], client, line, report=report)
        except CheckFailed as again:
            if again.clause != "FLOOD-1":
                raise
            raise CheckFailed(
                f"{sender} never floods to its neighbour {missed}: a record made at {sender} did not reach "
                f"{missed} with every neighbour of {sender} running and no other way to {missed} "
                "(the herd file links them: a neighbour table that leaves one of them out)",
                expected=again.expected,
                seen=again.seen,
                clause="FLOOD-1",
                strict_part=False,  # core, whichever check's experiment showed it
                missing=(missed,),
            ) from None
        if victim not in neighbours_of(target, sender):
            # No neighbour of the sender was down when it held the first record and did not pass
            # it on, and the link carries a record the sender makes: no hold-up by the victim
            # (LINK-4) can explain it, only a flood that stops on the way (a hop limit, say).
            raise CheckFailed(
                f"{sender} held the record but never passed it on to its neighbour {missed}, though "
                f"no neighbour of {sender} was {state} and a record made at {sender} does reach {missed}: "
                "a record must reach every server over any path of running servers (a herd that stops "
                "a flood after a fixed number of hops does this)",
                expected=f"the record at {missed}",
                seen=f"it reached {', '.join(sorted(reached))} only",
                clause="FLOOD-1",
                strict_part=False,
                missing=tuple(sorted(missing)),
            )
        context.transcript.note(
            f"{missed} got the record from {sender} with every neighbour of {sender} running: "
            f"{victim} being {state} held the first one up"
        )
        return
    context.transcript.note(
        f"no link to {', '.join(sorted(missing))} can be isolated: whether it carries no flood at all "
        "(FLOOD-1) is not told apart"
    )


def _fill_link(context: CheckContext, name: str, victim: str, octets: int) -> None:
    """LINK-4 with full socket buffers: ``name`` gets records until several MiB of floods wait
    for its stopped neighbour ``victim``; every IAMAT must still be answered, and a record made
    after them must still reach the other servers."""
    target = context.target
    client = context.client_id("bulk")
    client += b"." + b"x" * (octets - len(client))
    location = context.location()
    sent = count = 0
    started = time.monotonic()
    context.transcript.note(
        f"sending {name} IAMATs of {octets} octets (one client, newer each time) until "
        f"{_FILL_BYTES // 2**20} MiB of floods wait for {victim}, and {_FILL_MARGIN_BYTES // 2**20} MiB "
        f"more than when the octets unread at {victim} last grew"
    )
    unread, grew_at = -1, 0
    while sent < _FILL_BYTES or (
        grew_at >= 0 and sent - grew_at < _FILL_MARGIN_BYTES and sent < _FILL_MAX_BYTES
    ):
        if count % _FILL_LOOK_EVERY == 0:
            queues = _victim_queues(target, victim)
            waiting = -1 if queues is None else sum(queue.unread for queue in queues.values())
            if queues is None:
                grew_at = -1  # nothing to read: _FILL_BYTES it is
            elif waiting > unread:
                unread, grew_at = waiting, sent
        asked = time.monotonic()
        payload = b"IAMAT %s %s %s\n" % (client, location, context.now_time())
        reply = context.send(name, payload, record=False)
        took = time.monotonic() - asked
        if count == 0 and reply.data and not looks_like_at(reply.data):
            # Nothing waits for the stopped server yet: the line itself was not taken (a line
            # limit is ERR-4's business). The replies with the neighbour stopped were judged.
            # (No reply at all is no such answer: a server still blocked on the link, below.)
            context.transcript.note(
                f"{name} does not answer an IAMAT with a {octets}-octet client ID, so "
                "the link to the stopped neighbour was not filled"
            )
            return
        if not looks_like_at(reply.data):
            sent_so_far = (
                f"after {count} records of {octets // 1000} KB ({sent / 2**20:.1f} MiB) "
                f"were sent to {name} to flood, {victim} among others (the same IAMAT was answered "
                "until then"
                if count
                else f"at the first of the records of {octets // 1000} KB sent to {name} to "
                f"flood, {victim} among others (a short IAMAT was answered just before"
            )
            raise CheckFailed(
                f"{name} stopped answering IAMATs while its neighbour {victim} was stopped, {sent_so_far}; "
                f"{how_floods_wait(victim, _victim_queues(target, victim))})",
                expected=f"an AT line within {target.timeout_s:g} s for each IAMAT",
                seen=(show(reply.received[:200]) if reply.data else "no reply")
                + f" after {took:.1f} s"
                + (f" ({reply.error})" if reply.error else ""),
            )
        # The record each IAMAT floods carries its client ID, as the IAMAT does; a malformed AT
        # reply (AT-1, at-reply-format's) may leave it out, so the reply's length is no measure.
        sent += len(payload)
        count += 1
        if took > _FILL_SLOW_REPLY_S:
            context.transcript.note(
                f"reply {count} took {took:.1f} s: {name} waits on each flood's connection; filling stopped"
            )
            break
    context.transcript.note(f"{count} records ({sent / 2**20:.1f} MiB) in {time.monotonic() - started:.1f} s")
    after = context.client_id("after-fill")
    report = (context.location(), context.now_time())
    reply = context.iamat(name, after, *report)
    if not looks_like_at(reply.data):
        raise CheckFailed(
            f"{name} did not answer an IAMAT after {sent / 2**20:.1f} MiB of floods were queued for "
            f"its stopped neighbour {victim}",
            expected="an AT line within the timeout",
            seen=show(reply.received) + f" after {target.timeout_s:g} s",
        )
    line = reply.data.split(b"\n", 1)[0]
    holders = reachable_without(target, name, {victim})
    with _held_up_by(context, victim, "stopped", holders):
        require_spread(context, name, holders, after, line, report=report)


def _victim_queues(target: Target, victim: str) -> dict[int, PortQueues] | None:
    """The queues of the stopped ``victim``'s ports (client port, and peer port where it has
    one), as the kernel shows them here: None for a server on another host, or no ``/proc``."""
    address = target.config.address(victim)
    if not address.host.startswith("127.") and address.host not in ("localhost", "::1"):
        return None
    ports = {address.port, *([address.peer_port] if address.peer_port is not None else [])}
    return port_queues(ports)


@check(
    "catch-up-after-restart",
    "CATCHUP-1",
    "MUST",
    "a restarted server gets back, without new IAMATs, what it held and what it missed",
    destructive=True,
    catch_up=True,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def catch_up_after_restart(context: CheckContext) -> None:
    launcher = need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    neighbour = neighbours_of(target, victim)[0]
    # A record the victim itself received: once it has spread, no neighbour owes it to the
    # victim any more (FLOOD-3), so only a catch-up (CATCHUP-1) can bring it back.
    known = context.client_id("known")
    known_line = at_reply(context, victim, known, context.location(), context.now_time())
    require_flood(context, victim, target.names, known, known_line)
    launcher.kill(victim)  # it forgets everything (STATE-2)
    missed = context.client_id("missed")
    line = at_reply(context, neighbour, missed, context.location(), context.now_time())
    require_flood(context, neighbour, reachable_without(target, neighbour, {victim}), missed, line)
    launcher.start(victim)
    launcher.wait_listening(victim, deadline_s=target.startup_s)
    for client, record, when in ((known, known_line, "before it died"), (missed, line, "while it was down")):
        with failure_as(f"{victim} restarted but never got back the record created {when}", only="FLOOD-1"):
            require_flood(context, neighbour, [victim], client, record)


# ---- flooding with servers down -------------------------------------------------------------


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


def _flood_with_pairs_down(
    context: CheckContext, pairs: list[tuple[str, str]], *, killed: list[tuple[str, str]]
) -> None:
    """FLOOD-1 and FLOOD-4 with each pair of ``pairs`` down: the pairs in ``killed`` are
    SIGKILLed and restarted (refused connections, reconnection), the others SIGSTOPped and
    resumed, which takes them off the herd as surely and costs no restart."""
    launcher = need_launcher(context)
    target = context.target
    if target.knowledge.stopped_neighbour_blocks is not None:
        # A stopped neighbour holds this herd up (LINK-4's Strict part, paused-neighbour's): a
        # pair is taken down the course's way, killed, or the floods would wait on it.
        context.transcript.note(
            f"every pair is killed, none stopped: {target.knowledge.stopped_neighbour_blocks}"
        )
        killed = list(pairs)
    for pair in pairs:
        kill = pair in killed
        down = set(pair)
        context.transcript.note(f"{'killing' if kill else 'stopping'} {pair[0]} and {pair[1]}")
        for name in pair:
            if kill:
                launcher.kill(name)
            else:
                launcher.pause(name)
        try:
            _flood_without(context, pair, set(target.names) - down)
        finally:
            if not kill:
                for name in pair:
                    launcher.resume(name)
        if kill:
            for name in pair:
                launcher.start(name)
            for name in pair:
                launcher.wait_listening(name, deadline_s=target.startup_s)
            require_whole_again(context, pair)


def _flood_without(context: CheckContext, pair: tuple[str, str], survivors: set[str]) -> None:
    """A record made in each part of the survivors reaches that part and no other."""
    for part in components(sorted(survivors), context.target.config.links):
        component = set(part)
        origin = min(component)
        client = context.client_id(f"{origin}-without-{pair[0]}-{pair[1]}")
        sent_location, sent_time = context.location(), context.now_time()
        line = at_reply(context, origin, client, sent_location, sent_time)
        require_flood(context, origin, component, client, line)
        # The fields the reply echoes (a malformed AT line's too, once at-reply-format named it).
        location, client_time = echoed(line, sent_location, sent_time)
        for name in sorted(survivors - component):
            held = context.stored_line(name, client, silence_is_none=True)
            # An AT-shaped answer without the record's location or time is no record of it.
            if held is not None and carries_fields(held, location, client_time):
                raise CheckFailed(
                    f"{name} holds a record it cannot have got over the herd's links "
                    f"({pair[0]} and {pair[1]} are down)",
                    expected="no record: servers talk only with their configured neighbours",
                    seen=repr(held),
                    clause="FLOOD-4",
                )


# After the link checks: a herd whose IAMAT replies wait on a dead or stopped neighbour
# (LINK-4) or whose links never come back (LINK-2) is named there once, not again per pair.
@check(
    "flood-pairs-quick",
    "FLOOD-1",
    "MUST",
    "flooding with two servers killed (one connected, one cut case)",
    destructive=True,
    quick_only=True,
    requires=("dialect", "at-reply-format", "flood-all", "restart-reconnect"),
    reads_malformed_at=True,  # which report each server holds, by its location and client time
)
def flood_pairs_quick(context: CheckContext) -> None:
    pairs = _pairs_to_check(context, quick=True)
    _flood_with_pairs_down(context, pairs, killed=pairs)


@check(
    "flood-pairs",
    "FLOOD-1",
    "MUST",
    "flooding with each of the ten pairs of servers down (survivors cut apart included): "
    "the quick profile's two pairs killed, the others stopped",
    destructive=True,
    quick=False,
    requires=("dialect", "at-reply-format", "flood-all", "restart-reconnect", "paused-neighbour"),
    reads_malformed_at=True,  # as flood-pairs-quick
)
def flood_pairs(context: CheckContext) -> None:
    # Restarting two servers per pair cost most of the run on a loaded machine (20 process
    # starts); a stopped pair is down just as well, and the two killed pairs keep the refused
    # connections and the reconnections in the test.
    _flood_with_pairs_down(
        context, _pairs_to_check(context, quick=False), killed=_pairs_to_check(context, quick=True)
    )
