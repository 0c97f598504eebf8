"""What the Places fixture's own request log says about a herd whose WHATSAT shows no record.

The fixture records every request it gets and how it answered (issue 11): a herd whose Places
request reached the fixture, was answered with places, and whose WHATSAT then got nothing (or
'?') has a defect of its own, which whatsat-reply names once (WHATSAT-5: the reply to a valid
WHATSAT is the stored AT line and the JSON). Only a herd whose requests never reached the
fixture needs pointing at it; saying so of any other herd would be false.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from herdref.checker.outcomes import CheckBlocked, CheckUnsupported

if TYPE_CHECKING:
    from herdref.checker.framing_model import DialectProbes
    from herdref.checker.knowledge import RunKnowledge

__all__ = [
    "POINT_AT_FIXTURE",
    "answered_with_places",
    "how_to_reach",
    "no_record_words",
    "raise_if_records_kept_while_connected",
    "records_unseen",
]

#: How to make a herd's Places requests reach the fixture (when the run does not say how it
#: sent them there: an attached herd).
POINT_AT_FIXTURE: Final = (
    "give it the fixture's URL ($PLACES_URL, or {places_url} in the launch template), or use "
    "--redirect-google or --isolate"
)

#: ``Target.places_route``: how the run sent a launched herd's Places requests to the fixture.
ROUTE_URL: Final = "url"
ROUTE_REDIRECT: Final = "redirect"
ROUTE_ISOLATE: Final = "isolate"
#: The redirect was installed, the herd's Python processes loaded it, and none of them ever
#: looked up a Google host: no Places request of the herd asked for Google by name.
ROUTE_REDIRECT_UNUSED: Final = "redirect, no look-up"


def how_to_reach(route: str) -> str:
    """What the run did to send the herd's Places requests to the fixture, and what is left to
    try; words true of the run (``route``: ``Target.places_route``)."""
    given = "the herd was given the fixture's URL ($PLACES_URL, and {places_url} in the launch template)"
    if route == ROUTE_URL:
        return f"{given}; a herd that asks Google's own hosts needs --redirect-google or --isolate"
    if route == ROUTE_REDIRECT:
        return (
            f"{given}, and --redirect-google sent Python's look-ups of Google's hosts to it; a herd "
            "that reaches Google another way (not Python's getaddrinfo, a pinned certificate) needs --isolate"
        )
    if route == ROUTE_REDIRECT_UNUSED:
        return (
            f"{given}, and --redirect-google was ready to send Python's look-ups of Google's hosts to "
            "it, but the herd's Python processes never looked one up: whatever Places requests it "
            "made did not ask for Google by name (a WHATSAT that fails or stops before it asks Places, "
            "a fixed address, or a resolver other than getaddrinfo, aiodns say, which needs --isolate)"
        )
    if route == ROUTE_ISOLATE:
        return f"{given}, and --isolate sent every connection to Google's hosts to it"
    return POINT_AT_FIXTURE


def answered_with_places(request: Mapping[str, Any]) -> bool:
    """The fixture answered ``request`` (one entry of its log) with a successful Places answer:
    HTTP 200 and a JSON object that is no error (legacy ``status`` OK, or the native shape with
    no ``error``). A herd may refuse anything else with '?' (PLACES-3, PLACES-5)."""
    if request.get("answer_status") != 200 or not isinstance(request.get("answer"), str):
        return False
    try:
        document = json.loads(request["answer"])
    except ValueError:
        return False
    return isinstance(document, dict) and "error" not in document and document.get("status", "OK") == "OK"


def no_record_words(requests: Sequence[Mapping[str, Any]] | None, route: str = "") -> str:
    """Why no WHATSAT with a bound above 0 showed a record, as far as the fixture's log of the
    dialect step's WHATSATs (``requests``; None: not seen, no fixture or no WHATSAT) tells."""
    if requests is None:
        return "the fixture did not see its Places requests"
    if any(answered_with_places(request) for request in requests):
        return (
            f"its Places requests reached the fixture and were answered ({len(requests)} in the "
            "dialect step): whatsat-reply names what the WHATSAT got (WHATSAT-5)"
        )
    if requests:
        return (
            f"its {len(requests)} Places request(s) reached the fixture but got no places "
            f"(answer status {requests[-1].get('answer_status')})"
        )
    return f"no Places request reached the fixture: {how_to_reach(route)}"


def raise_if_records_kept_while_connected(knowledge: RunKnowledge) -> None:
    """BLOCKED by origin-holds-record, with its evidence, where it saw a record kept only while
    the client stays connected (STATE-1): no WHATSAT on a connection of its own shows one, so a
    check that needs one to show (or a Places request made for one) cannot be judged."""
    blocked = _kept_while_connected(knowledge)
    if blocked is not None:
        raise blocked


def records_unseen(
    knowledge: RunKnowledge, probes: DialectProbes | None, route: str = ""
) -> CheckUnsupported:
    """What a check that needs a record a WHATSAT shows raises on a herd whose WHATSAT showed
    none in the dialect step: BLOCKED by origin-holds-record where it saw the record kept only
    while the client stays connected (STATE-1), else UNSUPPORTED, saying why (below)."""
    return _kept_while_connected(knowledge) or CheckUnsupported(unreadable_records(probes, route))


def _kept_while_connected(knowledge: RunKnowledge) -> CheckBlocked | None:
    if knowledge.records_kept_while_connected is None:
        return None
    return CheckBlocked("origin-holds-record", knowledge.records_kept_while_connected)


def unreadable_records(probes: DialectProbes | None, route: str = "") -> str:
    """Why a check that reads what a server holds (``stored_line``) cannot, on a herd whose
    WHATSAT showed no record with bound 0 nor with bound 1 in the dialect step (``probes``:
    what those WHATSATs got, and the fixture's log of their Places requests)."""
    requests = probes.places_requests if probes is not None else None
    answered = probes.whatsat.half_close_reply or probes.whatsat.kept_open_reply if probes else b""
    if answered.strip():
        # An answer that is no record, for a client the server had just answered an AT line:
        # about the record, not about reaching Places (origin-holds-record judges STATE-1).
        return (
            "WHATSAT never shows a record on this herd (in the dialect step, a WHATSAT for a "
            f"client it had just answered with an AT line got {answered[:120]!r}, with bound 0 and "
            "with bound 1), so what each server holds cannot be seen"
        )
    if requests is None:
        return (
            "WHATSAT never shows a record on this herd, so what each server holds cannot be seen: "
            + how_to_reach(route)
        )
    return (
        "WHATSAT never shows a record on this herd (in the dialect step, bound 0 and then bound 1 "
        f"got no AT line; {no_record_words(requests, route)}), so what each server holds cannot be seen"
    )
