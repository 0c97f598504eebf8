"""LINK-2 after a restart: a restarted server's links work again, both ways.

Checks that kill and restart a server end by asking this, so that the next case starts from a
working herd and a missing reconnection is named as such, once (``links_not_reopened``).
"""

from __future__ import annotations

from collections.abc import Iterable

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import failure_as, neighbours_of
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.checks.spreading import require_spread
from herdref.checker.target import CheckContext

__all__ = ["require_link", "require_whole_again"]


def require_link(context: CheckContext, origin: str, neighbours: list[str], summary: str) -> None:
    """A new record at ``origin`` reaches each of ``neighbours`` (LINK-2 when it never does)."""
    # A short ID: the servers' names in it made flood lines of 110-odd octets, which a herd
    # that reads 100 octets at a time cuts (long-lines names that, ERR-4), and this check then
    # named the same defect again as a link that did not come back (LINK-2).
    client = context.client_id("link")
    report = (context.location(), context.now_time())
    line = at_reply(context, origin, client, *report)
    with failure_as(summary, clause="LINK-2", only="FLOOD-1"):
        require_spread(context, origin, neighbours, client, line, report=report, judge_lines=False)


def require_whole_again(context: CheckContext, restarted: Iterable[str]) -> None:
    """LINK-2: once restarted, each server's links work again both ways: its records reach its
    neighbours and theirs reach it (so the next case starts from a working herd, and a missing
    reconnection is named as such). Reaching further is FLOOD-1's business.

    A herd an earlier check saw keep a restarted server cut off (``links_not_reopened``) is
    not failed on it again: the same defect, which that check names."""
    knowledge = context.target.knowledge
    for name in restarted:
        if knowledge.links_not_reopened is not None:
            by = knowledge.learned_by.get("links_not_reopened", "an earlier check")
            context.transcript.note(
                f"{name} was restarted; whether its links work again is not judged here: {by} saw a "
                f"restarted server's links not come back (LINK-2: {knowledge.links_not_reopened})"
            )
            continue
        context.transcript.note(f"{name} was restarted: its links must work again, both ways (LINK-2)")
        try:
            require_link(
                context,
                name,
                neighbours_of(context.target, name),
                f"after {name} restarted, its records did not reach its neighbours",
            )
            # And the other way: its neighbours reach it again (they must reconnect to it).
            for neighbour in neighbours_of(context.target, name):
                require_link(
                    context,
                    neighbour,
                    [name],
                    f"after {name} restarted, a record created at its neighbour {neighbour} never reached it",
                )
        except CheckFailed as failure:
            if failure.clause == "LINK-2":
                context.learned["links_not_reopened"] = failure.summary
            raise
