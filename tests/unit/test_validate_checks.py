"""Check selection and the pure helpers of the checks (no server needed)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from herdref.checker.checks import CHECKS, select_checks
from herdref.checker.checks.at_lines import (
    answered_report,
    carries_client,
    held_report,
    held_time,
    unreadable,
)
from herdref.checker.checks.helpers import error_for as _error_for
from herdref.checker.checks.places import cut_to_bound, first_difference, places_held
from herdref.checker.checks.records import cut_record, older_record
from herdref.checker.framing_model import CommandProbe
from herdref.checker.places_attribution import request_circle as _request_circle
from herdref.checker.target import CheckUnsupported
from herdref.model import components


def test_every_check_names_a_clause_and_a_level() -> None:
    names = [item.name for item in CHECKS]
    assert len(names) == len(set(names))
    for item in CHECKS:
        family, _, number = item.clause.partition("-")
        assert family.isupper() and number.isdigit(), item
        assert item.level in ("MUST", "SHOULD")


def test_only_and_skip_take_names_clauses_and_families() -> None:
    chosen, _ = select_checks(only=["FLOOD-2"])
    # The dialect step always runs first: every other check talks in the dialect it finds.
    assert chosen[0].name == "dialect"
    assert {item.name for item in chosen} == {
        "dialect",
        "newer-by-value",
        "flood-newest-wins",
        "flood-storm",
        "flood-odd-time",
        "flood-no-loop",
        "flood-stale-not-sent",
        "flood-older-ignored",
        "flood-healed-split",
    }
    chosen, _ = select_checks(only=["LEX"], skip=["lex-octets"])
    assert {item.clause.split("-")[0] for item in chosen[1:]} == {"LEX"}
    assert "lex-octets" not in {item.name for item in chosen}


def test_attached_herds_get_no_destructive_check_and_quick_skips_the_ten_pairs() -> None:
    chosen, left_out = select_checks(destructive_allowed=False)
    assert not any(item.destructive for item in chosen)
    assert {item.name for item, _ in left_out} >= {"restart-reconnect", "paused-neighbour"}
    chosen, left_out = select_checks(profile="quick")
    assert "flood-pairs" not in {item.name for item in chosen}
    assert "flood-pairs-quick" in {item.name for item in chosen}
    chosen, _ = select_checks(profile="quick", only=["flood-pairs"])
    assert [item.name for item in chosen] == ["dialect", "flood-pairs"]


def test_every_prerequisite_is_a_check_that_runs_before_it() -> None:
    """Every prerequisite names a check, and the run order puts it first (a framing check that
    needs at-reply-format, registered later, runs after it)."""
    names = {item.name for item in CHECKS}
    chosen, _ = select_checks(catch_up=True)
    order = [item.name for item in chosen]
    for position, item in enumerate(chosen):
        for prerequisite in item.requires:
            assert prerequisite in names, (item.name, prerequisite)
            if prerequisite in order:
                assert prerequisite in order[:position], (item.name, prerequisite)
    assert order.index("at-reply-format") < order.index("frame-blank-lines")


def test_error_reply_drops_lf_and_one_cr() -> None:
    assert _error_for(b"IAMAT x\r\n") == b"? IAMAT x\n"
    assert _error_for(b"IAMAT x\r\r\n") == b"? IAMAT x\r\n"
    assert _error_for(b"  odd\tspacing ") == b"?   odd\tspacing \n"


def test_request_circle_reads_both_google_apis() -> None:
    legacy = {"query": {"location": "34.0,-118.5", "radius": "10000"}}
    radius, centre = _request_circle(legacy)
    assert radius == 10000 and centre == (34, -118.5)
    new = {
        "query": {},
        "json": {
            "locationRestriction": {"circle": {"center": {"latitude": 1.5, "longitude": 2}, "radius": 500.0}}
        },
    }
    radius, centre = _request_circle(new)
    assert radius == 500 and centre == (1.5, 2)
    assert _request_circle({"query": {}, "json": None}) == (None, None)


def test_components_split_the_default_herd_when_two_servers_die() -> None:
    links = frozenset(
        frozenset(pair)
        for pair in [
            ("Clark", "Jaquez"),
            ("Clark", "Bona"),
            ("Campbell", "Bailey"),
            ("Campbell", "Bona"),
            ("Campbell", "Jaquez"),
            ("Bona", "Bailey"),
        ]
    )
    everyone = {"Bailey", "Bona", "Campbell", "Clark", "Jaquez"}
    assert components(sorted(everyone - {"Campbell", "Bona"}), links) == (("Bailey",), ("Clark", "Jaquez"))
    assert components(sorted(everyone - {"Bailey", "Clark"}), links) == (("Bona", "Campbell", "Jaquez"),)
    cut = [
        pair
        for pair in itertools.combinations(sorted(everyone), 2)
        if len(components(sorted(everyone - set(pair)), links)) > 1
    ]
    assert len(cut) == 3


def test_passthrough_names_where_the_json_passed_on_differs_from_the_fixtures() -> None:
    google = {
        "html_attributions": [],
        "results": [{"icon": "https://maps.gstatic.com/a.png", "rating": 4, "open": True}] * 4,
        "status": "OK",
    }
    expected = cut_to_bound(google, 2)
    assert expected == {**google, "results": google["results"][:2]}
    assert cut_to_bound({"places": [1, 2, 3]}, 1) == {"places": [1]}
    assert first_difference(expected, {**google, "results": google["results"][:2]}) is None
    # Numbers compare by value (4 and 4.0 are the same JSON number), true is not 1.
    assert first_difference({"n": 4}, {"n": 4.0}) is None
    assert first_difference({"b": True}, {"b": 1}) == "$.b is 1, not True"
    rewritten = {
        **expected,
        "results": [{**google["results"][0], "icon": "https ://maps.gstatic.com/a.png"}] * 2,
    }
    assert first_difference(expected, rewritten) == (
        "$.results[0].icon is 'https ://maps.gstatic.com/a.png', not 'https://maps.gstatic.com/a.png'"
    )
    assert first_difference(expected, {"results": expected["results"], "status": "OK"}) == (
        "$.html_attributions is missing"
    )
    assert first_difference(expected, {**expected, "extra": 1}) == "$.extra was added"
    assert first_difference(expected, google) == "$.results has 4 entries, not 2"


def test_a_second_command_that_got_nothing_marks_one_command_per_connection() -> None:
    # The dialect step's kept-open probe: a second IAMAT that got nothing (the connection left
    # open, or closed) is one command per connection (FRAME-3 lenient); a '?' to it is another
    # matter, judged by frame-keep-open itself; no second command sent, nothing is known.
    probe = CommandProbe()
    assert not probe.first_command_only
    probe.second_reply = b""
    assert probe.first_command_only
    probe.second_reply, probe.second_closed = b"", True
    assert probe.first_command_only
    probe.second_reply = b"? IAMAT kiwi +1+1 5\n"
    assert not probe.first_command_only
    probe.second_reply, probe.second_answered = b"AT A +0.1 kiwi +1+1 5\n", True
    assert not probe.first_command_only


def test_a_line_of_any_shape_is_read_for_the_one_report_it_carries() -> None:
    reports = {"newest": (b"+1+2", b"100.5"), "duplicate": (b"+3+4", b"100.5"), "stale": (b"+5+6", b"0.5")}
    assert held_report("A", b"AT A 99.9 +3.0+4.0 100.5", reports) == "duplicate"
    assert held_report("A", b"AT A +0.1 c +1+2 100.500000", reports) == "newest"
    # The time of one report and the location of another: which one it holds cannot be told.
    with pytest.raises(CheckUnsupported, match="none of the reports sent"):
        held_report("A", b"AT A 99.9 +1+2 0.5", reports)


def test_the_checks_that_read_malformed_at_lines_are_the_ones_whose_property_ignores_the_shape() -> None:
    reading = {item.name for item in CHECKS if item.reads_malformed_at}
    assert reading == {
        "flood-pairs",
        "flood-pairs-quick",
        "iamat-any-time",
        "iamat-stale",
        "invalid-iamat-unchanged",
        "location-edges",
        "echo-numeric",
        "echo-exact",
        "skew",
        "whatsat-reply",
        "flood-no-loop",
        "flood-all",
        "flood-eof-ended",
        "flood-newest-wins",
        "restart-reconnect",
        "restart-after-sigterm",
        "paused-neighbour",
        # '?' replies, WHATSAT and Places answers: the IAMAT before them need only be answered.
        "extra-field-anywhere",
        "error-echo-raw",
        "error-keeps-connection",
        "limits-accepted",
        "limits-edges",
        "whatsat-bound",
        "places-bound-zero",
        "places-errors",
        "places-passthrough",
        "frame-blank-lines",
        "flood-malformed-at",
        "flood-older-ignored",
        "flood-healed-split",
        # Which IAMAT a reply answers, read by the report a malformed line carries.
        "frame-pipelined",
        "frame-split-write",
        "frame-lf-between-fields",
        "frame-replies-whole",
        "long-lines",
        "newer-by-value",
        "flood-stale-not-sent",
        "flood-at-from-client",
        "whatsat-location-forms",
        # The time difference's form, where skew reads it; the client ID, where a line holds it.
        "skew-nine-digits",
        "lex-id-punctuation",
        "lex-unicode-space",
        "lex-octets",
    }
    # Each still needs at-reply-format: another failure of it (an IAMAT-4, wrong IDs) blocks them.
    assert all("at-reply-format" in item.requires for item in CHECKS if item.reads_malformed_at)


def test_a_record_with_its_client_time_cut_short_is_no_older_record() -> None:
    sent = b"AT Welsh +0.000659227 c.1 +34.016100-118.000000 1796410024.9255078"
    cut = b"AT Ball +5.979743957 c.1 +34.016100-118.000000 1796410024.92"
    cut_reprinted = (
        b"AT Ball +5.364015579 c.1 +34.0161-118.0 1796410024.0"  # cut to '1796410024.', then float()
    )
    reprinted = b"AT Ball +5.364015579 c.1 +34.016100-118.000000 1796410024.925508"  # within the tolerance
    older = b"AT Ball +5.364015579 c.1 +34.016100-118.000000 1796410023.5"
    assert cut_record(cut, sent) and not older_record(cut, sent)
    assert cut_record(cut_reprinted, sent) and not older_record(cut_reprinted, sent)
    assert not cut_record(reprinted, sent) and not older_record(reprinted, sent)
    assert not cut_record(older, sent) and older_record(older, sent)


def test_a_reply_is_told_by_its_client_id_or_by_the_report_a_malformed_one_carries() -> None:
    sent = [(b"one", (b"+1+2", b"100.5")), (b"two", (b"+3+4", b"100.5"))]
    reading, not_reading = SimpleNamespace(malformed_at="A answers ..."), SimpleNamespace(malformed_at=None)
    assert answered_report(not_reading, b"AT A +0.1 two +3+4 100.5", sent) == 1
    assert answered_report(not_reading, b"AT A +0.1 three +3+4 100.5", sent) is None
    # Five fields, no client ID: read only by a check that reads malformed lines, by its report.
    five = b"AT A +0.1 +3.0+4.0 100.5"
    assert answered_report(not_reading, five, sent) is None
    assert answered_report(reading, five, sent) == 1
    assert not unreadable(reading, five, [report for _, report in sent])
    # The location of one report and the time of none: which one it answers cannot be told.
    assert answered_report(reading, b"AT A +0.1 +1+2 7.5", sent) is None
    assert unreadable(reading, b"AT A +0.1 +1+2 7.5", [report for _, report in sent])
    assert not unreadable(not_reading, b"AT A +0.1 +1+2 7.5", [report for _, report in sent])
    assert not unreadable(reading, b"? IAMAT one +1+2 100.5", [report for _, report in sent])


def test_a_client_id_is_echoed_whole_as_one_field() -> None:
    assert carries_client(b"AT A +0.1 k\xc2\xa0x +1+2 5", b"k\xc2\xa0x")
    assert not carries_client(b"AT A +0.1 k x +1+2 5", b"k\xc2\xa0x")
    # A malformed line (the IAMAT repeated in it): the ID is one of its fields.
    assert carries_client(b"AT A +0.1 IAMAT k-2:b +1+2 5", b"k-2:b")
    assert not carries_client(b"AT A +0.1 +1+2 5", b"k-2:b")
    # A line of AT-1's shape echoes it as its client ID, not as another field.
    assert not carries_client(b"AT k-2:b +0.1 c +1+2 5", b"k-2:b")


def test_the_client_time_held_is_read_from_the_report_a_malformed_line_carries() -> None:
    reports = [(b"+1+2", b"99.5"), (b"+3+4", b"100.5")]
    reading = SimpleNamespace(malformed_at="A answers ...")
    assert held_time(reading, "A", b"AT A +0.1 +3+4 100.5", reports) == b"100.5"
    assert held_time(reading, "A", b"AT A +0.1 c +1+2 99.50", reports) == b"99.50"
    assert held_time(reading, "A", None, reports) is None
    with pytest.raises(CheckUnsupported, match="exactly one of the reports"):
        held_time(reading, "A", b"AT A +0.1 +5+6 1.5", reports)
    # Not reading malformed lines: such a line is no stored record (held_record's reason).
    with pytest.raises(CheckUnsupported, match="AT-1's shape"):
        held_time(SimpleNamespace(malformed_at=None), "A", b"AT A +0.1 +3+4 100.5", reports)


def test_under_the_lenient_profile_what_the_course_requires_runs_first() -> None:
    """The run's budget goes first to the checks that can fail a course herd: the strict-only
    and SHOULD checks follow them, every prerequisite still before the checks that need it."""
    chosen, _ = select_checks(strict_only_last=True)
    names = [item.name for item in chosen]
    minor = [item.name for item in chosen if item.strict_part is True or item.level == "SHOULD"]
    # paused-neighbour (strict as a whole) stays where it is: flood-pairs needs it.
    moved = [name for name in minor if name != "paused-neighbour"]
    assert moved and names[-len(moved) :] == moved
    assert names.index("paused-neighbour") < names.index("flood-pairs") < names.index(moved[0])
    for item in chosen:
        assert all(names.index(name) < names.index(item.name) for name in item.requires if name in names)
    # The strict profile keeps the sections' order.
    assert [item.name for item in select_checks()[0]] != names


def test_a_bound_zero_reply_that_holds_places_says_how_many() -> None:
    at_line = b"AT Bailey +0.000100000 c +34.1-118.1 1700000000.0"
    two = at_line + b'\n{"results": [{"name": "a"}, {"name": "b"}], "status": "OK"}\n\n'
    assert places_held(two) == ", and its reply holds 2 place(s) (whatsat-bound judges the count, WHATSAT-7)"
    assert places_held(at_line + b'\n{"results": [], "status": "ZERO_RESULTS"}\n\n') == ""
    assert places_held(at_line + b"\nnot json\n\n") == ""
    assert places_held(b"? WHATSAT c 10 0\n") == ""
