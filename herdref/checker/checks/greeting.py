"""frame-greeting (SPEC FRAME-6): nothing reaches a client before its command's reply.

A herd that greets every new connection (a Twisted ``connectionMade`` writing "Connection
Succesful with server <name>") has its greeting taken for the reply by every client. The
dialect step finds the greeting (herdref.checker.dialect.greeting_of) only when no IAMAT got its
AT line first, and every exchange then reads past it (Dialect.greetings), so that the herd's
other properties are judged; the greeting itself is named here, once.
"""

from __future__ import annotations

import socket

from herdref.checker.checks.helpers import show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.dialect import greeting_of
from herdref.checker.target import CheckContext

__all__ = ["read_past_greeting"]


@check(
    "frame-greeting",
    "FRAME-6",
    "MUST",
    "nothing is written to a client before its command's reply (no greeting on connect)",
    requires=("dialect",),
)
def frame_greeting(context: CheckContext) -> None:
    """FRAME-6: a reply is the first thing a client reads. The dialect step reads the herd's
    replies past a greeting it writes on every new connection, so that the other checks judge
    them; the greeting itself is named here, once, on a connection of this check's own."""
    name = context.target.names[0]
    known = context.target.dialect.greeting(name)
    if not known:
        return  # the dialect step's first IAMAT got its AT line first, nothing before it
    greeting = greeting_of(context.target, name, context.transcript) or known
    raise CheckFailed(
        f"{name} writes {greeting!r} on every new connection before any command: a client reads "
        "it as the reply to its first command",
        expected="nothing before the reply",
        seen=show(greeting),
    )


def read_past_greeting(context: CheckContext, name: str, connection: socket.socket, first: bytes) -> bytes:
    """What of ``first`` (a connection's first read) is the reply: with a greeting the server
    writes before any command (frame-greeting's FRAME-6), the octets after it, else the next
    read (the greeting is a write of its own, not the reply's first piece)."""
    greeting = context.target.dialect.greeting(name)
    while greeting and first and len(first) < len(greeting) and greeting.startswith(first):
        more = connection.recv(65_536)
        context.transcript.add(name, "recv", more)
        if not more:
            break
        first += more
    if not greeting or not first.startswith(greeting):
        return first
    if len(first) > len(greeting):
        return first[len(greeting) :]
    after = connection.recv(65_536)
    context.transcript.add(name, "recv", after)
    return after
