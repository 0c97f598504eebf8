"""How a check reads a WHATSAT reply: its JSON body, and a WHATSAT that needs Places."""

from __future__ import annotations

import ast
import json

from herdref.checker.checks.helpers import show
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.client import Exchange
from herdref.checker.places_attribution import now, wait_for_request
from herdref.checker.places_evidence import (
    answered_with_places,
    how_to_reach,
    no_record_words,
    raise_if_records_kept_while_connected,
)
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import glued_at_line, looks_like_at

__all__ = ["places_reply", "unanswered_after_places", "whatsat_json"]


#: The longest body read as a Python literal (ast.literal_eval's time and depth grow with it);
#: a Places answer of 20 results printed with str() is about 20 KB.
_LITERAL_BODY_LIMIT = 2**20


def _python_literal(body: bytes) -> object | None:
    """``body`` read as the repr of a dict or list (``str()`` of the parsed JSON: single quotes,
    True, None), or None when it is not one."""
    if len(body) > _LITERAL_BODY_LIMIT:
        return None
    try:
        value = ast.literal_eval(body.decode("utf-8").strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError):
        return None
    return value if isinstance(value, (dict, list)) else None


def whatsat_json(reply: bytes) -> object:
    """The JSON after the AT line of a WHATSAT reply, read as a client's ``json.loads`` reads it:
    its framing (no empty line, LF LF, WHATSAT-5/6) is whatsat-reply's business, so that a
    check of the contents judges only the contents.

    A body that is no JSON but the Python repr of the answer (a student's ``str(dict)``) is read
    as such: that it is no JSON is whatsat-reply's defect (WHATSAT-6), named there once, and
    what it holds (how many places, which status) is still each check's own to judge."""
    first, _, body = reply.partition(b"\n")
    glued = glued_at_line(first)
    if glued is not None:
        # The body glued to the AT line, no LF between (whatsat-reply's defect, WHATSAT-5):
        # it starts on that line.
        body = first[len(glued) :] + b"\n" + body
    try:
        return json.loads(body)
    except ValueError as exc:
        literal = _python_literal(body)
        if literal is not None:
            return literal
        # Unreadable contents are whatsat-reply's defect (WHATSAT-5/6), named there once; here
        # there is nothing to judge.
        raise CheckUnsupported(
            f"the WHATSAT reply's body is not JSON, so its contents cannot be judged (whatsat-reply "
            f"judges its form): {body[:120]!r} ({exc})"
        ) from None


def places_reply(
    context: CheckContext, name: str, client: bytes, radius: bytes, bound: int | bytes
) -> Exchange:
    """A WHATSAT that needs Places; UNSUPPORTED when such a WHATSAT showed no record in the
    dialect step (why, as the fixture's log tells: whatsat-reply names a herd defect once)."""
    if not context.target.places_work:
        probes = context.target.dialect_probes
        raise_if_records_kept_while_connected(context.target.knowledge)
        raise CheckUnsupported(
            "a WHATSAT with a bound above 0 showed no record in the dialect step, and "
            + no_record_words(probes.places_requests if probes else None, context.target.places_route)
        )
    return context.whatsat(name, client, radius, bound)


def unanswered_after_places(context: CheckContext, name: str, client: bytes, line: bytes) -> Exchange:
    """whatsat-reply on a herd whose WHATSAT with a bound above 0 showed no record in the dialect
    step: one WHATSAT (bound 5) with the fixture's log cleared. Places answered with places and
    still no AT line fails WHATSAT-5 (a valid WHATSAT for a stored client gets the stored line
    and the JSON, in every profile; no reply at all is ERR-4's "never closes because of a
    line's content" too); no request at all is UNSUPPORTED, with how to point the herd at the
    fixture. A reply that does show the record is returned, to be judged as usual."""
    fixture = context.target.fixture
    raise_if_records_kept_while_connected(context.target.knowledge)
    if fixture is None:
        raise CheckUnsupported("a WHATSAT with a bound above 0 showed no record, and no fixture sees Places")
    fixture.reset()
    since = now()
    reply = context.whatsat(name, client, b"10", 5)
    if looks_like_at(reply.data):
        return reply
    # The request may come after the reply or the close: wait for this client's own
    # (herdref.checker.places_attribution), not whatever the log holds last.
    fields = line.split()
    # A reply of any kind came after the request (logged as it arrives): one look is enough.
    found = wait_for_request(
        context, fields[4] if len(fields) > 4 else b"", since=since, wait_s=0 if reply.data else None
    )
    requests = found.own or found.strays
    context.transcript.note(f"fixture saw {len(requests)} request(s) for this WHATSAT: {requests!r:.600}")
    if reply.data.startswith(b"?"):
        got = "was refused with '?'"
    elif reply.data:
        got = "got no AT line"
    else:
        got = "got no reply" + (
            " (the server closed the connection)"
            if reply.closed
            else f" within {context.target.timeout_s:g} s"
        )
    if not any(answered_with_places(request) for request in requests):
        if requests:
            why = no_record_words(requests, context.target.places_route)
        else:
            probes = context.target.dialect_probes
            earlier = len(probes.places_requests or ()) if probes else 0
            why = (
                "no Places request for it reached the fixture"
                + ("" if reply.data else f" within {context.target.timeout_s:g} s")
                + (f" (the fixture saw {earlier} in the dialect step)" if earlier else "")
                + f": {how_to_reach(context.target.places_route)}"
            )
        raise CheckUnsupported(f"a WHATSAT with bound 5 {got}, and {why}")
    raise CheckFailed(
        f"a valid WHATSAT for a stored client {got}, though its Places request reached the fixture "
        "and was answered with places",
        expected=repr(line + b"\n") + ", then the Places JSON and an empty line",
        seen=show(reply.received[:300]) + (f" ({reply.error})" if reply.error else ""),
        clause="WHATSAT-5",
    )
