"""What the fixture's request log lets the checker say about a WHATSAT that shows no record."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from herdref.checker.client import Transcript
from herdref.checker.framing_model import CommandProbe, DialectProbes
from herdref.checker.knowledge import RunKnowledge
from herdref.checker.outcomes import CheckBlocked
from herdref.checker.places_evidence import (
    POINT_AT_FIXTURE,
    ROUTE_ISOLATE,
    ROUTE_REDIRECT,
    ROUTE_REDIRECT_UNUSED,
    ROUTE_URL,
    answered_with_places,
    how_to_reach,
    no_record_words,
    records_unseen,
    unreadable_records,
)
from herdref.checker.redirect import GoogleLookups, install_redirect, lookup_log
from herdref.checker.target import Target
from herdref.herd.config import parse_config


def _request(status: int | None, answer: str | None) -> dict[str, Any]:
    return {"path": "/maps/api/place/nearbysearch/json", "answer_status": status, "answer": answer}


OK = _request(200, '{"html_attributions": [], "results": [{"name": "x"}], "status": "OK"}')


def test_only_a_successful_places_answer_counts_as_answered_with_places() -> None:
    assert answered_with_places(OK)
    assert answered_with_places(_request(200, '{"places": []}'))  # the native shape
    assert not answered_with_places(_request(200, '{"results": [], "status": "REQUEST_DENIED"}'))
    assert not answered_with_places(_request(500, "oops"))
    assert not answered_with_places(_request(200, "not json"))
    assert not answered_with_places(_request(200, '{"error": {"code": 400}}'))
    assert not answered_with_places(_request(None, None))  # not answered yet


def test_the_fixture_hint_is_given_only_when_no_request_reached_the_fixture() -> None:
    assert no_record_words([]).endswith(POINT_AT_FIXTURE)
    reached = no_record_words([OK, OK])
    assert "reached the fixture and were answered (2 in the dialect step)" in reached
    assert "whatsat-reply" in reached and POINT_AT_FIXTURE not in reached
    failed = no_record_words([_request(500, "oops")])
    assert "got no places (answer status 500)" in failed and POINT_AT_FIXTURE not in failed


def _probes(requests: list[dict[str, Any]] | None, whatsat_got: bytes = b"") -> DialectProbes:
    """What the dialect step saw: its WHATSATs got ``whatsat_got`` (on half-close), their
    Places requests ``requests``."""
    whatsat = CommandProbe()
    whatsat.half_close_reply = whatsat_got
    return DialectProbes(CommandProbe(), whatsat, Transcript(), None if requests is None else tuple(requests))


def test_unreadable_records_names_the_bounds_tried_only_when_whatsat_was_sent() -> None:
    assert "bound 0 and then bound 1 got no AT line" in unreadable_records(_probes([OK]))
    assert "bound 0" not in unreadable_records(None)
    assert unreadable_records(None).endswith(POINT_AT_FIXTURE)


def test_unreadable_records_quote_a_refusal_instead_of_blaming_places() -> None:
    # A herd that forgets a client once its connection closes refuses the WHATSAT with words
    # of its own: that is about the record, and the Places hint would mislead.
    words = unreadable_records(_probes([], b"No such user on the servers\r\n"), ROUTE_URL)
    assert "got b'No such user on the servers\\r\\n'" in words
    assert "fixture" not in words and "--redirect-google" not in words


def test_records_unseen_is_blocked_by_origin_holds_record_once_it_saw_records_kept_while_connected() -> None:
    probes = _probes([], b"No such user on the servers\r\n")
    knowledge = RunKnowledge()
    unseen = records_unseen(knowledge, probes, ROUTE_URL)
    assert not isinstance(unseen, CheckBlocked)
    assert str(unseen) == unreadable_records(probes, ROUTE_URL)
    knowledge.learn({"records_kept_while_connected": "A forgets a record when its client leaves"})
    blocked = records_unseen(knowledge, probes, ROUTE_URL)
    assert isinstance(blocked, CheckBlocked) and blocked.by == "origin-holds-record"
    assert "forgets a record" in str(blocked)


def test_the_words_say_what_the_run_did_to_reach_the_fixture() -> None:
    # --redirect-google given: the words must not tell the user to use it.
    redirected = no_record_words([], ROUTE_REDIRECT)
    assert "--redirect-google sent Python's look-ups" in redirected and "needs --isolate" in redirected
    assert "use --redirect-google" not in redirected
    assert "--isolate sent every connection" in no_record_words([], ROUTE_ISOLATE)
    given_url = no_record_words([], ROUTE_URL)
    assert "was given the fixture's URL" in given_url and "needs --redirect-google or --isolate" in given_url
    assert how_to_reach("") == POINT_AT_FIXTURE  # an attached herd: the run cannot tell
    assert "--redirect-google sent" in unreadable_records(None, ROUTE_REDIRECT)


def test_a_redirect_the_herd_loaded_and_never_used_says_google_was_never_looked_up(tmp_path: Path) -> None:
    """The servers' sitecustomize notes each start and each Google look-up it redirected: a herd
    that loaded it and never looked Google up asked Places for no Google host by name, and the
    words say so instead of saying the look-ups were sent to the fixture."""
    log = lookup_log(tmp_path)
    log.parent.mkdir(parents=True)
    target = Target(
        config=parse_config("[servers]\nA = { port = 1 }\n"), route_taken=ROUTE_REDIRECT, redirect_log=log
    )
    assert target.places_route == ROUTE_REDIRECT  # nothing noted yet: no server ran
    log.write_text("loaded\nloaded\n", encoding="ascii")
    assert target.places_route == ROUTE_REDIRECT_UNUSED
    unused = no_record_words([], target.places_route)
    assert "never looked one up: whatever Places requests it made did not ask for Google by name" in unused
    assert "sent Python's look-ups" not in unused
    log.write_text("loaded\nlookup\n", encoding="ascii")
    assert target.places_route == ROUTE_REDIRECT
    assert GoogleLookups.read(log) == GoogleLookups(loaded=1, lookups=1)


def test_the_redirect_notes_what_a_python_server_did(tmp_path: Path) -> None:
    """The sitecustomize itself, in a real Python process: 'loaded' at start, 'lookup' for a
    Google host it redirected, nothing for any other name."""
    stack = ExitStack()
    with stack:
        env = {**os.environ, **install_redirect(1, tmp_path, stack)}
        script = (
            "import socket\n"
            "socket.getaddrinfo('localhost', 80)\n"
            "socket.getaddrinfo('maps.googleapis.com', 443)\n"
        )
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert GoogleLookups.read(lookup_log(tmp_path)) == GoogleLookups(loaded=1, lookups=1)
