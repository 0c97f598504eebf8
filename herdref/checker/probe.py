"""Find out how the target wants to be talked to before the checks start.

Styles tried, in order of preference: a command, LF, half-close, read to EOF (the course
graders' way); the same when the server answers but does not close; LF on a kept-open
connection. The framing checks report each style's verdict; this only picks one to use.
"""

from __future__ import annotations

import time

from herdref.checker.client import LineSession, exchange
from herdref.checker.target import Framing, Target

__all__ = ["probe_framing"]


def _iamat(target: Target) -> bytes:
    return b"IAMAT hv%s.probe.%d +34.068930-118.445127 %.9f\n" % (
        target.run_id.encode(),
        target.next_serial(),
        time.time(),
    )


def probe_lookups(target: Target) -> tuple[int | None, bool]:
    """How to see what a server holds, and whether its Places requests work.

    The bound is 0 if ``WHATSAT <client> 10 0`` answers with the record (no Places request
    needed), 1 if only ``WHATSAT <client> 10 1`` does, None if neither does. Places work if
    the bound-1 question is answered with the record.
    """
    name = target.names[0]
    address = target.config.address(name)
    client = b"hv%s.probe.%d" % (target.run_id.encode(), target.next_serial())
    line = b"IAMAT %s +34.068930-118.445127 %.9f\n" % (client, time.time())
    exchange(address.host, address.port, line, timeout_s=target.timeout_s, until_complete=False)
    answered = {}
    for bound in (0, 1):
        reply = exchange(
            address.host,
            address.port,
            b"WHATSAT %s 10 %d\n" % (client, bound),
            timeout_s=target.timeout_s,
            until_complete=True,
        )
        answered[bound] = reply.data.startswith(b"AT ")
    lookup_bound = 0 if answered[0] else 1 if answered[1] else None
    return lookup_bound, answered[1]


def probe_framing(target: Target) -> Framing:
    name = target.names[0]
    address = target.config.address(name)
    reply = exchange(
        address.host, address.port, _iamat(target), timeout_s=target.timeout_s, until_complete=False
    )
    if reply.data.startswith(b"AT "):
        # The reply is in; does the server also close once the client half-closed?
        closing = exchange(address.host, address.port, _iamat(target), timeout_s=target.timeout_s)
        return Framing(half_close=True, server_closes=closing.closed and closing.data.startswith(b"AT "))
    try:
        with LineSession(address.host, address.port, timeout_s=target.timeout_s) as session:
            session.send(_iamat(target))
            answer = session.read_reply()
        if answer is not None and answer.startswith(b"AT "):
            return Framing(half_close=False, server_closes=False)
    except OSError:
        pass
    return Framing()
