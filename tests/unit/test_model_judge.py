"""The reply judge (:mod:`herdref.model.judge`): replies read by the normative grammar."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from herdref.model import HerdModel, Snapshot, check_no_leakage
from herdref.model.judge import (
    LOCATION_TOLERANCE,
    TIME_TOLERANCE,
    at_client_time,
    carried_fields,
    carried_report,
    carries_report_of,
    echo_numerically_equal,
    error_copy,
    held_final,
    holds_report_or_newer,
    is_error_reply_for,
    is_strict_time_diff,
    looks_like_at,
    names_answering_server,
    parse_at_line,
    parse_whatsat_reply,
    split_at_fields,
    split_line,
    stored_line_within,
    time_diff_field,
    time_diff_value,
)
from herdref.model.replies import check_whatsat_reply, result_array
from herdref.protocol import At

LINE = b"AT Clark +0.263873386 kiwi +34.068930-118.445127 1621464827.959498503"


def test_an_at_line_is_read_by_the_grammar() -> None:
    assert parse_at_line(LINE) == At(
        b"Clark", b"+0.263873386", b"kiwi", b"+34.068930-118.445127", b"1621464827.959498503"
    )
    # AT-1: single spaces, six fields; AT-2: a sign, digits, a fraction with digits.
    for bad in (LINE.replace(b" ", b"  ", 1), LINE + b" extra", LINE.replace(b"+0.263873386", b"+5.")):
        assert parse_at_line(bad) is None, bad
    assert split_at_fields(LINE.replace(b"+0.263873386", b"0.26")) is not None  # shape only
    assert split_at_fields(LINE.replace(b" kiwi", b" kiwi\t")) is None


@pytest.mark.parametrize(
    ("diff", "value", "strict"),
    [
        (b"+0.263873386", "0.263873386", True),
        (b"-1.000000000", "-1", True),
        (b"+00.263873386", "0.263873386", False),
        (b"-0.000000000", "0", False),
        (b"+0.2638", "0.2638", False),
        (b"+5.", None, False),
        (b"1e3", None, False),
        (b"0.5", None, False),
    ],
)
def test_time_differences(diff: bytes, value: str | None, strict: bool) -> None:
    from fractions import Fraction

    assert time_diff_value(diff) == (None if value is None else Fraction(value))
    assert is_strict_time_diff(diff) is strict


def test_terminators_are_told_apart() -> None:
    assert split_line(b"AT x\n") == (b"AT x", "LF")
    assert split_line(b"AT x\r\n") == (b"AT x", "CRLF")
    assert split_line(b"AT x\r\n", crlf=False) == (b"AT x\r", "LF")
    assert split_line(b"AT x") == (b"AT x", "none")
    assert split_line(b"AT x\nAT y\n") is None
    assert looks_like_at(b"AT x") and not looks_like_at(b"? AT x") and not looks_like_at(b"")


def test_error_replies_strict_and_lenient() -> None:
    sent = b"  IAMAT  x\t+1+1 never \r\n"
    assert is_error_reply_for(sent, b"?   IAMAT  x\t+1+1 never ", strict=True)
    assert not is_error_reply_for(sent, b"? IAMAT  x\t+1+1 never", strict=True)
    assert is_error_reply_for(sent, b"? IAMAT  x\t+1+1 never", strict=False)
    # Lenient ERR-2: the fields re-joined, or the line's own LF kept, are copies too (A4) ...
    assert is_error_reply_for(sent, b"? IAMAT x +1+1 never", strict=False)
    assert is_error_reply_for(sent, b"?   IAMAT  x\t+1+1 never \n", strict=False)
    assert not is_error_reply_for(sent, b"?   IAMAT  x\t+1+1 never \n", strict=True)
    # ... other fields, or a second line with something on it, are not.
    assert not is_error_reply_for(sent, b"? IAMAT x +1+1", strict=False)
    assert not is_error_reply_for(sent, b"? {message}", strict=False)
    assert not is_error_reply_for(sent, b"? IAMAT x +1+1 never\nAT s +0 x +1+1 1", strict=False)
    assert error_copy(b"? HELLO") == b"HELLO" and error_copy(b"HELLO") is None


def test_whatsat_replies_are_framed_by_the_grammar() -> None:
    good = LINE + b'\n{\n "results": []\n}\n\n'
    parsed = parse_whatsat_reply(good)
    assert not isinstance(parsed, str) and parsed.document == {"results": []}
    assert "empty line" in str(parse_whatsat_reply(LINE + b'\n{\n\n "results": []\n}\n\n'))
    assert "(LF LF)" in str(parse_whatsat_reply(LINE + b'\n{"results": []}\n'))
    assert "not JSON" in str(parse_whatsat_reply(LINE + b"\n{results}\n\n"))


def test_numeric_echo_within_graders_tolerances() -> None:
    sent = (b"+34.068930-118.445127", b"1621464827.959498503")
    assert echo_numerically_equal(sent, (b"+34.06893-118.445127", b"1621464827.9594986"))
    assert not echo_numerically_equal(sent, (b"+34.06993-118.445127", b"1621464827.959498503"))
    assert not echo_numerically_equal(sent, (b"+34.068930-118.445127", b"1621464827.96"))


def test_a_changed_copy_of_a_record_is_flood_5_and_a_line_from_nowhere_flood_4() -> None:
    model = HerdModel(["A", "B"], [("A", "B")], catch_up=False)
    model.create("A", b"kiwi", b"5", b"AT A +1.000000000 kiwi +1+1 5")
    changed = b"AT B +1.000000000 kiwi +1+1 5"
    # A relayed copy with a trailing space (a student herd's) is the record changed, not one
    # from nowhere: its client time is read without the space.
    trailing_space = b"AT A +1.000000000 kiwi +1+1 5 "
    nowhere = b"AT A +1.000000000 kiwi +1+1 6"
    for line, clause in ((changed, "FLOOD-5"), (trailing_space, "FLOOD-5"), (nowhere, "FLOOD-4")):
        snapshot = Snapshot(model.step, dict(model.lives), {"B": {b"kiwi": line}})
        assert [violation.clause for violation in check_no_leakage(model, snapshot)] == [clause]


@pytest.mark.parametrize(
    ("document", "longest"),
    [
        ({"results": [1, 2], "status": "OK"}, [1, 2]),
        ({"places": [1, 2, 3]}, [1, 2, 3]),
        # WHATSAT-7: a herd that adds a legacy "results" array beside the New API's "places" (or
        # the other way round) is judged by the longer one, whichever key it is under.
        ({"places": [1], "results": [1, 2, 3]}, [1, 2, 3]),
        ({"results": [1], "places": [1, 2, 3]}, [1, 2, 3]),
        ({}, []),
        ({"status": "ZERO_RESULTS"}, []),
        ({"results": "none"}, None),
        ({"results": [], "places": {"a": 1}}, None),
        ([1, 2], None),
    ],
)
def test_the_result_array_of_a_places_answer(document: object, longest: list[object] | None) -> None:
    assert result_array(document) == longest


def test_a_bound_is_broken_by_either_result_array() -> None:
    line = b"AT Clark +0.1 kiwi +34-118 1621464827.5"
    body = b'{"results": [{"id": "a"}], "places": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}'
    reply = line + b"\n" + body + b"\n\n"
    violations = check_whatsat_reply(b"WHATSAT kiwi 10 2", 2, reply, stored=[line])
    assert [violation.clause for violation in violations] == ["WHATSAT-7"]
    assert check_whatsat_reply(b"WHATSAT kiwi 10 3", 3, reply, stored=[line]) == []


# ---- malformed AT lines read for the report they carry (issue 11) ---------------------------


def test_carried_fields_finds_the_location_and_time_sent_in_any_shape() -> None:
    sent = (b"+34.001500-118.000000", b"1796403898.886897087")
    # Five fields, the client ID left out, both numbers re-printed by a float (a student herd).
    assert carried_fields(b"AT Goloman 0.00054 +34.0015-118.0 1796403898.886897", *sent) == (
        b"+34.0015-118.0",
        b"1796403898.886897",
    )
    # Seven fields, the IAMAT repeated: the same octets are found first.
    line = b"AT G +0.5 IAMAT c " + b" ".join(sent)
    assert carried_fields(line, *sent) == sent
    # A float's exponent is still the location (the echo checks judge its form); a time too far
    # off, or a location that is no number pair at all, is not found.
    assert carried_fields(b"AT G 0.1 +1e-05-1e-05 5.0", b"+0.00001-0.00001", b"5")[0] == b"+1e-05-1e-05"
    assert carried_fields(b"AT G 0.1 +0.0+-0.0 6.5", b"+0.0-0.0", b"5") == (None, None)


def test_carried_report_names_the_one_report_a_line_carries_or_none() -> None:
    newest, duplicate, stale = (b"+1+2", b"100.5"), (b"+3+4", b"100.5"), (b"+5+6", b"0.5")
    reports = [newest, duplicate, stale]
    assert carried_report(b"AT A 1 +3+4 100.5", reports) == 1
    assert carried_report(b"AT A +99.5 c +5.0+6.0 0.50", reports) == 2
    # Neither location, or the time of one and the location of another: cannot tell.
    assert carried_report(b"AT A 1 +7+8 100.5", reports) is None
    assert carried_report(b"AT A 1 +1+2 0.5", reports) is None
    # Two reports alike cannot be told apart either.
    assert carried_report(b"AT A 1 +1+2 100.5", [newest, newest]) is None


@pytest.mark.parametrize(
    ("line", "diff"),
    [
        (b"AT G --3599.99 IAMAT c +1+2 5.5", b"--3599.99"),
        (b"AT G 0.00054 +1+2 5.5", b"0.00054"),
        (b"AT G +0.5 c +1+2 5.5", b"+0.5"),
        # The time difference left out: its place holds the client ID, a location or a word.
        (b"AT G c +1+2 5.5", None),
        (b"AT G +1+2 5.5", None),
        (b"AT G IAMAT c +1+2 5.5", None),
        (b"AT Other +0.5 c +1+2 5.5", None),
    ],
)
def test_time_diff_field_is_the_number_in_its_place_that_carries_nothing_else(
    line: bytes, diff: bytes | None
) -> None:
    assert time_diff_field(line, b"G", [b"c", b"+1+2", b"5.5"]) == diff


def test_a_made_up_answer_for_an_unknown_client_carries_no_report_of_the_record() -> None:
    """A wait for a record to spread (any re-print of it counts) must not take a herd's answer
    for a client it holds nothing of, 'AT X +0 c unknwon 0', for the record's arrival."""
    record = parse_at_line(b"AT Juzang +0.000321 c +34.068930-118.445127 1621464827.959498503")
    assert carries_report_of(b"AT Bernard +0 c unknwon 0", record) is False
    assert carries_report_of(b"AT Juzang +0.000321 c +34.06893-118.445127 1621464827.9594986", record)
    assert carries_report_of(None, record) is False
    assert carries_report_of(b"anything", None)


def test_a_whatsat_reply_whose_json_ends_with_an_lf_is_told_from_an_empty_line_inside_it() -> None:
    at_line = b"AT Bailey +0.1 c +34.1-118.1 1700000000.5\n"
    extra = parse_whatsat_reply(at_line + b'{\n "a": 1\n}\n\n\n')
    assert extra == (
        "3 LFs in a row follow the JSON, not two: an empty line too many (the JSON text ends with "
        "an LF, or one more LF follows the reply)"
    )
    inside = parse_whatsat_reply(at_line + b'{\n\n "a": 1\n}\n\n')
    assert inside == "the JSON holds an empty line (two LFs in a row) before the end"
    assert not isinstance(parse_whatsat_reply(at_line + b'{\n "a": 1\n}\n\n'), str)


_STORED = b"AT Bailey +0.100000000 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"


@pytest.mark.parametrize(
    ("line", "within"),
    [
        (b"AT Bona +0.200000000 " + _STORED, _STORED),  # a second 'AT <server> <diff>' in front
        (b"AT Bona  " + _STORED, _STORED),
        (_STORED + b'{"results": []}', _STORED),  # the body glued after it
        # A client ID holding '[' and '{' (LEX-2): the body starts after the whole AT line.
        (_STORED.replace(b"kiwi", b"k[i{wi") + b"{'results': []}", _STORED.replace(b"kiwi", b"k[i{wi")),
        (_STORED, None),  # AT-1's shape itself: nothing inside it to find
        (b"AT Bona +0.2 AT Bailey +0.1 kiwi", None),  # no whole AT line at the end
        (b"AT Bona +0.2 xAT Bailey +0.1 kiwi +34-118 1621464827.5", None),  # 'AT' inside a field
    ],
)
def test_the_stored_line_is_found_inside_a_whatsat_first_line(line: bytes, within: bytes | None) -> None:
    assert stored_line_within(line) == within


@pytest.mark.parametrize(
    ("seen", "answering", "names_itself"),
    [
        (_STORED.replace(b"Bailey", b"Bona"), "Bona", True),  # the server asked wrote its own name
        (_STORED.replace(b"Bailey", b"Bona"), "Clark", False),  # a third server's name: a changed relay
        (_STORED, "Bona", False),  # the origin's line itself
        (_STORED.replace(b"Bailey", b"Bona").replace(b"+0.1", b"+0.2"), "Bona", False),  # more changed
        (_STORED.replace(b"Bailey", b"Bona") + b" ", "Bona", False),  # white space changed too
        (_STORED.replace(b"Bailey", b"Bona  "), "Bona", False),
    ],
)
def test_a_line_naming_the_answering_server_is_the_record_with_only_its_server_field_changed(
    seen: bytes, answering: str, names_itself: bool
) -> None:
    assert names_answering_server(seen, _STORED, answering) is names_itself


def test_iamat_5s_lenient_tolerances_are_the_judges() -> None:
    # SPEC IAMAT-5 states the precision of its lenient echo in numbers; the judge uses these.
    spec = (Path(__file__).parents[2] / "SPEC.md").read_text()
    clause = spec[spec.index("**IAMAT-5**") : spec.index("**IAMAT-6**")]
    found = re.search(r"within (1e-\d+) degree and (1e-\d+) s", " ".join(clause.split()))
    assert found is not None, clause
    assert Fraction(found[1]) == LOCATION_TOLERANCE
    assert Fraction(found[2]) == TIME_TOLERANCE


def test_a_float_round_trip_of_the_echo_is_numerically_equal_and_an_exponent_is_not() -> None:
    sent = (b"+34.068930-118.445127", b"1621464827.959498503")
    assert echo_numerically_equal(sent, (b"+34.06893-118.445127", b"1621464827.9594986"))
    assert not echo_numerically_equal(sent, (b"+34.06893-118.445127", b"1621464827.9594"))
    assert not echo_numerically_equal(sent, (b"+3.406893e1-118.445127", b"1621464827.959498503"))
    # The boundaries themselves: 1e-6 s and 1e-5 degree off are equal, a little more is not.
    assert echo_numerically_equal(sent, (b"+34.068930-118.445127", b"1621464827.959499503"))
    assert not echo_numerically_equal(sent, (b"+34.068930-118.445127", b"1621464827.959499603"))
    assert echo_numerically_equal(sent, (b"+34.068940-118.445127", b"1621464827.959498503"))
    assert not echo_numerically_equal(sent, (b"+34.068941-118.445127", b"1621464827.959498503"))


def test_an_at_lines_client_time_is_read_whatever_white_space_sits_between_its_fields() -> None:
    assert at_client_time(LINE) == b"1621464827.959498503"
    assert at_client_time(LINE.replace(b" ", b"  \t") + b" ") == b"1621464827.959498503"
    assert at_client_time(b"AT Clark +0.26 kiwi") is None


def test_a_held_line_is_final_with_the_client_time_sent_or_one_cut_short_in_its_fraction() -> None:
    sent = b"1621464827.959498503"
    assert held_final(LINE, sent)
    assert held_final(LINE.replace(sent, b"1621464827.9594"), sent)  # read before its end
    # A whole number may be an older record, not a cut: not final.
    assert not held_final(LINE.replace(sent, b"1621464827"), sent)
    assert not held_final(LINE.replace(sent, b"1621464828.5"), sent)


def test_a_server_holds_the_report_sent_or_a_newer_record_never_an_older_one() -> None:
    location, sent = b"+34.068930-118.445127", b"1621464827.959498503"
    assert holds_report_or_newer(LINE, location, sent)
    newer = LINE.replace(b"+34.068930-118.445127", b"+35-119").replace(sent, b"1621464900")
    assert holds_report_or_newer(newer, location, sent)  # the report was stale there
    older = newer.replace(b"1621464900", b"1621464800")
    assert not holds_report_or_newer(older, location, sent)
    assert not holds_report_or_newer(None, location, sent)
