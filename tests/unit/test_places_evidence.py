"""What the fixture's request log lets the checker say about a WHATSAT that shows no record."""

from __future__ import annotations

from typing import Any

from herdref.checker.places_evidence import (
    POINT_AT_FIXTURE,
    ROUTE_ISOLATE,
    ROUTE_REDIRECT,
    ROUTE_URL,
    answered_with_places,
    how_to_reach,
    no_record_words,
    unreadable_records,
)


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


def test_unreadable_records_names_the_bounds_tried_only_when_whatsat_was_sent() -> None:
    assert "bound 0 and then bound 1 got no AT line" in unreadable_records([OK])
    assert "bound 0" not in unreadable_records(None)
    assert unreadable_records(None).endswith(POINT_AT_FIXTURE)


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
