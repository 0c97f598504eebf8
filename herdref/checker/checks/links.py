"""Links, restarts, paused neighbours and the catch-up extension (SPEC sections 10, 11)."""

from __future__ import annotations

import signal

from herdref.checker.checks.helpers import (
    at_reply,
    failure_as,
    need_launcher,
    neighbours_of,
    reachable_without,
    require_flood,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext
from herdref.model.judge import looks_like_at

# ---- links ---------------------------------------------------------------------------------


def _restart_case(context: CheckContext, sig: int) -> None:
    launcher = need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    neighbour = neighbours_of(target, victim)[0]
    launcher.kill(victim, sig)
    while_down = context.client_id("while-down")
    line = at_reply(context, neighbour, while_down, context.location(), context.now_time())
    require_flood(context, neighbour, reachable_without(target, neighbour, {victim}), while_down, line)
    launcher.start(victim)
    launcher.wait_listening(victim, deadline_s=target.startup_s)
    after = context.client_id("after-restart")
    line = at_reply(context, neighbour, after, context.location(), context.now_time())
    with failure_as(
        f"{neighbour} did not get a new record to {victim} after {victim} restarted", only="FLOOD-1"
    ):
        require_flood(context, neighbour, [victim], after, line)
    outgoing = context.client_id("from-restarted")
    line = at_reply(context, victim, outgoing, context.location(), context.now_time())
    with failure_as(f"{victim}, restarted, did not flood a new record to {neighbour}", only="FLOOD-1"):
        require_flood(context, victim, [neighbour], outgoing, line)


@check(
    "restart-reconnect",
    "LINK-2",
    "MUST",
    "after SIGKILL and restart, records flow both ways again",
    destructive=True,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def restart_reconnect(context: CheckContext) -> None:
    _restart_case(context, signal.SIGKILL)


@check(
    "restart-after-sigterm",
    "LINK-2",
    "MUST",
    "after SIGTERM and restart, records flow both ways again",
    destructive=True,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def restart_after_sigterm(context: CheckContext) -> None:
    _restart_case(context, signal.SIGTERM)


@check(
    "paused-neighbour",
    "LINK-4",
    "MUST",
    "a SIGSTOPped neighbour blocks neither replies nor flooding",
    destructive=True,
    requires=("dialect", "at-reply-format", "flood-all"),
)
def paused_neighbour(context: CheckContext) -> None:
    launcher = need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(neighbours_of(target, name)), name))
    launcher.pause(victim)
    try:
        for neighbour in neighbours_of(target, victim):
            client = context.client_id(f"via-{neighbour}")
            reply = context.iamat(neighbour, client, context.location(), context.now_time())
            if not looks_like_at(reply.data):
                raise CheckFailed(
                    f"{neighbour} did not answer an IAMAT while its neighbour {victim} was stopped",
                    expected="an AT line within the timeout",
                    seen=show(reply.data) + f" after {target.timeout_s:g} s",
                )
            line = reply.data.split(b"\n", 1)[0]
            require_flood(context, neighbour, reachable_without(target, neighbour, {victim}), client, line)
    finally:
        launcher.resume(victim)


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
