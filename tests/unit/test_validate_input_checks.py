"""The logic inside the checks that vary their inputs (split writes, long lines, ...): how each
judges what came back, without a herd."""

from __future__ import annotations

import socketserver
import threading
import time
from fractions import Fraction

import pytest

from herdref.checker.checks import CHECKS
from herdref.checker.checks.iamat import varied_client_times
from herdref.checker.checks.interleaving import interleaved
from herdref.checker.checks.long_lines import long_line_lengths
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.checks.split_write import SplitDelivery, _answered_one_prefix, _split_outcome
from herdref.checker.checks.time_diff import _decimal, _form_defect, _loose_value
from herdref.checker.checks.whatsat import integer_degrees, judge_whatsat_reply
from herdref.checker.client import Exchange
from herdref.checker.runner import run_check
from herdref.checker.target import Target
from herdref.checker.variation import Variation
from herdref.herd.config import parse_config
from herdref.protocol import IAmAt, parse_line

COMMAND = b"IAMAT hv1.frame-split-write.split.3 +34.000300-118.000000 1700000000.5"


def test_one_question_mark_for_the_first_write_then_close_is_a_single_shot_read() -> None:
    # A one-read herd: '?' for what its one read held (the first write), then close.
    first = COMMAND[:20]
    assert _answered_one_prefix(SplitDelivery([b"? " + first + b"\n"], early=1, closed=True), COMMAND, [20])
    # Its read may have held the first two of three writes.
    two = COMMAND[:41]
    assert _answered_one_prefix(SplitDelivery([b"? " + two + b"\n"], closed=True), COMMAND, [20, 41])


def test_a_reply_per_write_or_a_kept_open_connection_is_not_single_shot() -> None:
    # A line loop that takes each read for a line: one '?' per write.
    replies = [b"? " + COMMAND[:20] + b"\n", b"? " + COMMAND[20:] + b"\n"]
    assert not _answered_one_prefix(SplitDelivery(replies, early=1, closed=True), COMMAND, [20])
    # One '?' for the first write, but the connection stays open: not a single-shot herd.
    assert not _answered_one_prefix(SplitDelivery([replies[0]], early=1, closed=False), COMMAND, [20])
    # A '?' that copies something else than a prefix at a cut.
    assert not _answered_one_prefix(SplitDelivery([b"? " + COMMAND + b"\n"], closed=True), COMMAND, [20])
    assert not _answered_one_prefix(SplitDelivery([], closed=True), COMMAND, [20])


@pytest.mark.parametrize("seed", [0, 1, 2026, 4_294_967_295])
def test_long_lines_cross_one_kib_and_reach_4000_octets(seed: int) -> None:
    lengths = long_line_lengths(Variation(seed))
    assert lengths == sorted(lengths) and len(set(lengths)) == len(lengths)
    assert lengths[0] == 100 and lengths[-1] == 4000 and 1025 in lengths
    assert any(100 < length < 1024 for length in lengths) and any(1025 < length < 4000 for length in lengths)
    assert long_line_lengths(Variation(seed)) == lengths


def test_integer_degree_locations_are_valid_and_distinct() -> None:
    locations = [integer_degrees(serial) for serial in range(5600)]  # 70 latitudes x 80 longitudes
    assert len(set(locations)) == len(locations)
    for location in locations[::97]:
        assert b"." not in location
        message = parse_line(b"IAMAT c " + location + b" 1.5")
        assert isinstance(message, IAmAt) and message.location == location


@pytest.mark.parametrize("seed", [0, 1, 2026, 4_294_967_295])
def test_varied_client_times_include_the_longest_forms_and_are_valid(seed: int) -> None:
    times = varied_client_times(Variation(seed))
    whole, _, fraction = times[0].partition(b".")
    assert (len(whole), len(fraction)) == (19, 12)
    assert len(times[1]) == 19 and b"." not in times[1]
    for client_time in times:
        message = parse_line(b"IAMAT c +34-118 " + client_time)
        assert isinstance(message, IAmAt) and message.client_time == client_time
    # A float cannot hold them: that is what the skew check relies on.
    assert Fraction(float(times[0])) != Fraction(times[0].decode())
    assert varied_client_times(Variation(seed)) == times


def test_skew_bounds_are_shown_exactly() -> None:
    assert _decimal(Fraction("-7900708393749257895.8184")) == "-7900708393749257895.818"
    assert _decimal(Fraction("3600.0006")) == "+3600.001"
    assert _decimal(Fraction(0)) == "+0.000"


def test_an_at_line_for_a_shorter_valid_command_then_close_is_a_single_shot_read() -> None:
    # The first write ended inside the client time: what the one read held is a valid IAMAT.
    command = b"IAMAT hv1.c.2 +34.000300-118.000000 1796305448.219454765"
    cut = len(b"IAMAT hv1.c.2 +34.000300-118.000000 1796305448.21")
    reply = b"AT Bailey +0.009927500 hv1.c.2 +34.000300-118.000000 1796305448.21\n"
    assert _answered_one_prefix(SplitDelivery([reply], early=1, closed=True), command, [cut])
    # The AT line for the whole command is not an answer to a prefix.
    whole = b"AT Bailey +0.009927500 hv1.c.2 +34.000300-118.000000 1796305448.219454765\n"
    assert not _answered_one_prefix(SplitDelivery([whole], early=1, closed=True), command, [cut])


def test_the_split_write_outcome_is_told_as_the_transcript_shows_it() -> None:
    two = SplitDelivery([b"? IAMAT a\n", b"? b c d\n"], early=1, closed=True)
    assert _split_outcome(two) == "got 2 replies (1 before its LF was sent): each write was taken for a line"
    early = SplitDelivery([b"? IAMAT a\n"], early=1, closed=False)
    assert _split_outcome(early) == "was answered before its LF was sent"
    assert _split_outcome(SplitDelivery([b"OK\n"], closed=True)) == (
        "got a reply that is not its AT line, and the server closed the connection"
    )
    assert _split_outcome(SplitDelivery()) == "got no reply"


_STORED = b"AT Clark +0.263873386 kiwi +34.068930-118.445127 1621464827.959498503"
_REBUILT = b"AT Bailey +0.5 kiwi 10 5"


def _judged(data: bytes) -> CheckFailed | None:
    try:
        judge_whatsat_reply(_STORED, Exchange(data, closed=True))
    except CheckFailed as failure:
        return failure
    return None


def test_a_whatsat_reply_whose_first_line_was_rebuilt_is_told_field_by_field() -> None:
    # A WHATSAT that works the time difference out again at each query: the line differs from
    # the stored one in that field alone, and the summary says so (not "no record").
    rebuilt = _STORED.replace(b"+0.263873386", b"+5.000000000")
    failure = _judged(rebuilt + b'\n{"results": []}\n\n')
    assert failure is not None and failure.summary == (
        "the WHATSAT reply does not start with the stored AT line: its first line has the time "
        "difference +5.000000000 where the IAMAT reply has +0.263873386"
    )
    # Rebuilt from the IAMAT command (its word IAMAT kept): no AT line at all.
    seven = b"AT Clark +5.000000000 IAMAT kiwi +34.068930-118.445127 1621464827.959498503"
    failure = _judged(seven + b'\n{"results": []}\n\n')
    assert failure is not None and failure.summary.endswith(
        ": its first line is no AT line of AT-1's shape (six fields joined by single spaces; 7 fields here)"
    )


def test_a_whatsat_reply_names_its_first_line_and_its_body_when_both_are_wrong() -> None:
    both = _judged(_REBUILT + b"\n{'results': []}\n\n")
    assert both is not None and both.clause == "WHATSAT-5"
    assert "does not start with the stored AT line: its first line has the server ID" in both.summary
    assert "(WHATSAT-5), and " in both.summary and "its body is not JSON" in both.summary
    assert both.summary.endswith("(WHATSAT-6)")
    # The first line alone wrong: named alone, each field that differs from the stored line
    # said; the body alone wrong: WHATSAT-6 alone.
    first_only = _judged(_REBUILT + b'\n{"results": []}\n\n')
    assert first_only is not None and first_only.summary == (
        "the WHATSAT reply does not start with the stored AT line: its first line has the server ID "
        "Bailey where the IAMAT reply has Clark; the time difference +0.5 where the IAMAT reply has "
        "+0.263873386; the location 10 where the IAMAT reply has +34.068930-118.445127; the client "
        "time 5 where the IAMAT reply has 1621464827.959498503"
    )
    body_only = _judged(_STORED + b"\n{'results': []}\n\n")
    assert (
        body_only is not None and body_only.clause == "WHATSAT-6" and "(WHATSAT-5)" not in body_only.summary
    )
    assert _judged(_STORED + b'\n{"results": []}\n\n') is None
    # A '?' has no body to judge.
    refused = _judged(b"? WHATSAT kiwi 10 5\n")
    assert refused is not None and refused.summary == "the WHATSAT for a stored client was refused with '?'"


def test_a_wrong_time_difference_is_named_for_each_way_it_is_written_wrong() -> None:
    assert _form_defect(b"-6.19e-06") == "written with an exponent"
    assert _form_defect(b"--3599.99") == "two signs"
    assert _form_defect(b"3600.5") == "no sign ('+' for a difference of zero or more)"
    assert _form_defect(b"+1.2.3") == "not digits with an optional fraction"
    # What the herd meant, for the tries near the clock to steer by.
    assert _loose_value(b"--3599.5") == Fraction("-3599.5")
    assert _loose_value(b"+6.25e-06") == Fraction(6.25e-06)
    assert _loose_value(b"3600") == 3600
    assert _loose_value(b"soon") is None and _loose_value(b"-inf") is None


class _StrFloatSkewHerd(socketserver.StreamRequestHandler):
    """A herd that writes the time difference as '+' or '-' followed by ``str(float)``, as
    students do: a negative difference gets two signs, and one under 0.1 ms an exponent."""

    def handle(self) -> None:
        line = self.rfile.readline()
        received = time.time()
        fields = line.split()
        if len(fields) != 4:  # a connection the check opened and closed unused
            return
        _, client, location, client_time = fields
        diff = received - float(client_time)
        sign = "+" if diff >= 0 else "-"
        self.wfile.write(
            b"AT A %s%s %s %s %s\n" % (sign.encode(), str(diff).encode(), client, location, client_time)
        )


def test_skew_names_both_a_doubled_sign_and_an_exponent() -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _StrFloatSkewHerd) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            config = parse_config(f"[servers]\nA = {{ port = {server.server_address[1]} }}\n")
            skew = next(item for item in CHECKS if item.name == "skew")
            outcome = run_check(Target(config=config, timeout_s=3.0), skew)
        finally:
            server.shutdown()
    assert outcome.verdict == "FAIL" and outcome.clause == "AT-2"
    assert "two signs" in outcome.summary and "written with an exponent" in outcome.summary


@pytest.mark.parametrize(
    ("received", "inside"),
    [
        (b"AT A +1 w +1+1 5\n{\n}\n\nAT A +1 i +1+1 6\n", False),  # one after the other
        (b"AT A +1 w +1+1 5\n{\n}\n\nAT A +1 i +1+1 6\n? ", False),  # a stray '?' at EOF after both
        (b"AT A +1 w +1+1 5\nAT A +1 i +1+1 6\n{\n}\n\n", True),  # the IAMAT's line inside
        (b"AT A +1 w +1+1 5\nAT A +1 i +1+1 6\n{\n", True),  # inside, the WHATSAT never ended
        (b"AT A +1 w +1+1 5\n{\nAT A +1 i +1+1 6\n}\n\n", True),  # inside the JSON itself
    ],
)
def test_two_replies_interleave_only_when_one_comes_inside_the_other(received: bytes, inside: bool) -> None:
    lines = received.split(b"\n")
    assert interleaved(lines, 0, next(index for index, line in enumerate(lines) if b" i " in line)) is inside
