"""How a check reads a WHATSAT reply: its JSON body, and a WHATSAT that needs Places."""

from __future__ import annotations

import json

from herdref.checker.client import Exchange
from herdref.checker.target import CheckContext, CheckUnsupported

__all__ = ["places_reply", "whatsat_json"]


def whatsat_json(reply: bytes) -> object:
    """The JSON after the AT line of a WHATSAT reply, read as a client's ``json.loads`` reads it:
    its framing (no empty line, LF LF, WHATSAT-5/6) is whatsat-reply's business, so that a
    check of the contents judges only the contents."""
    body = reply.partition(b"\n")[2]
    try:
        return json.loads(body)
    except ValueError as exc:
        # Unreadable contents are whatsat-reply's defect (WHATSAT-5/6), named there once; here
        # there is nothing to judge.
        raise CheckUnsupported(
            f"the WHATSAT reply's body is not JSON, so its contents cannot be judged (whatsat-reply "
            f"judges its form): {body[:120]!r} ({exc})"
        ) from None


def places_reply(context: CheckContext, name: str, client: bytes, radius: bytes, bound: int) -> Exchange:
    """A WHATSAT that needs Places; UNSUPPORTED when this herd's Places requests fail."""
    if not context.target.places_work:
        raise CheckUnsupported(
            "WHATSAT with a bound above 0 gets '?' on this herd (its Places requests never reach the "
            "fixture): give it {places_url}/$PLACES_URL, or use --redirect-google or --isolate"
        )
    return context.whatsat(name, client, radius, bound)
