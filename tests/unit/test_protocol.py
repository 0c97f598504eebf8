"""Bytes in, message or bytes out: the protocol model's parsers, formatters and exact numbers.

Every line here goes through both parsers, the fast ``parse_line`` and the grammar oracle
``parse_line_lark``, and every valid line is parsed again with each gap between its fields (and
before and after them) written with each kind of white space.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from herdref.protocol import (
    WHITESPACE,
    At,
    IAmAt,
    Message,
    Peer,
    ProtocolError,
    WhatsAt,
    error_reply,
    format_at,
    format_message,
    format_time_diff,
    is_newer,
    location_degrees,
    parse_line,
    parse_line_lark,
    time_key,
)

# The ways a gap between fields may be written: each white-space octet but LF alone, a run of
# all of them, and a repeated one (LEX-1, LEX-3).
GAPS = [bytes([octet]) for octet in b" \t\v\f\r"] + [b" \t\v\f\r", b"\r\r", b"  "]


def parse_both(line: bytes) -> Message | None:
    """The message both parsers agree ``line`` holds."""
    message = parse_line(line)
    assert parse_line_lark(line) == message
    return message


VALID_LINES: list[tuple[bytes, Message]] = [
    # The handout's examples (IAMAT-1, WHATSAT-1, AT-1).
    (
        b"IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503",
        IAmAt(b"kiwi.cs.ucla.edu", b"+34.068930-118.445127", b"1621464827.959498503"),
    ),
    (b"WHATSAT kiwi.cs.ucla.edu 10 5", WhatsAt(b"kiwi.cs.ucla.edu", b"10", 5)),
    (
        b"AT Clark +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503",
        At(b"Clark", b"+0.263873386", b"kiwi.cs.ucla.edu", b"+34.068930-118.445127", b"1621464827.959498503"),
    ),
    (b"PEER Bailey 7f3a-2026_11", Peer(b"Bailey", b"7f3a-2026_11")),
    # LEX-2: a client ID is any run of non-white-space octets: NUL, invalid UTF-8, U+0085 and
    # U+00A0 as octets, the command words themselves.
    (b"IAMAT \x00\xff\x80\x85\xa0\x1c? +1+1 1", IAmAt(b"\x00\xff\x80\x85\xa0\x1c?", b"+1+1", b"1")),
    (b"IAMAT IAMAT +1+1 1", IAmAt(b"IAMAT", b"+1+1", b"1")),
    (b"WHATSAT AT 1 1", WhatsAt(b"AT", b"1", 1)),
    (b"AT AT +1 WHATSAT +1+1 1", At(b"AT", b"+1", b"WHATSAT", b"+1+1", b"1")),
    (b"PEER PEER PEER", Peer(b"PEER", b"PEER")),
    # LEX-5: the edges of the ranges, leading zeros, long fractions.
    (b"IAMAT c +90-180 0", IAmAt(b"c", b"+90-180", b"0")),
    (b"IAMAT c -90.000+180.0 0", IAmAt(b"c", b"-90.000+180.0", b"0")),
    (b"IAMAT c +090-0 0", IAmAt(b"c", b"+090-0", b"0")),
    (b"IAMAT c +89.999999999999+179.99999999999 0", IAmAt(b"c", b"+89.999999999999+179.99999999999", b"0")),
    (b"IAMAT c -000.5+000.5 0", IAmAt(b"c", b"-000.5+000.5", b"0")),
    (b"IAMAT c -0-0 00012.3400", IAmAt(b"c", b"-0-0", b"00012.3400")),
    # WHATSAT-2, WHATSAT-3: radius in (0, 50] km, bound in [0, 20].
    (b"WHATSAT c 50 20", WhatsAt(b"c", b"50", 20)),
    (b"WHATSAT c 50.000 00020", WhatsAt(b"c", b"50.000", 20)),
    (b"WHATSAT c 0.001 0", WhatsAt(b"c", b"0.001", 0)),
    (b"WHATSAT c 000.1 007", WhatsAt(b"c", b"000.1", 7)),
    (b"WHATSAT c 49.99999999999 19", WhatsAt(b"c", b"49.99999999999", 19)),
    (b"WHATSAT c " + b"0" * 5000 + b"1 " + b"0" * 5000 + b"5", WhatsAt(b"c", b"0" * 5000 + b"1", 5)),
    # AT-2: a signed time difference, negative when the client's clock is ahead.
    (b"AT s -0.5 c +1+1 1", At(b"s", b"-0.5", b"c", b"+1+1", b"1")),
    (b"AT s +123 c +1+1 1.0", At(b"s", b"+123", b"c", b"+1+1", b"1.0")),
    # PEER-1: an incarnation of 64 characters.
    (b"PEER s " + b"x" * 64, Peer(b"s", b"x" * 64)),
    # FRAME-1: the LF that ends a line may still be there; CRLF ends a telnet line.
    (b"IAMAT c +1+1 1\n", IAmAt(b"c", b"+1+1", b"1")),
    (b"IAMAT c +1+1 1\r\n", IAmAt(b"c", b"+1+1", b"1")),
]


@pytest.mark.parametrize(("line", "message"), VALID_LINES)
def test_a_valid_line_gives_its_message_on_both_parsers(line: bytes, message: Message) -> None:
    assert parse_both(line) == message


@pytest.mark.parametrize(("line", "message"), VALID_LINES)
def test_each_gap_may_be_any_white_space(line: bytes, message: Message) -> None:
    fields = line.split()
    for gap_index in range(len(fields) + 1):
        for gap in GAPS:
            gaps = [b""] + [b" "] * (len(fields) - 1) + [b""]
            gaps[gap_index] = gap
            variant = b"".join(g + f for g, f in zip(gaps, fields, strict=False)) + gaps[-1]
            assert parse_both(variant) == message, variant
    for gap in GAPS:
        assert parse_both(gap + gap.join(fields) + gap) == message


@pytest.mark.parametrize("line", [b"", b" ", b"\t\v\f\r ", b"\r", b"\n", b" \r\n"])
def test_a_blank_line_is_no_message(line: bytes) -> None:
    assert parse_both(line) is None


def malformed(line: bytes, clause: str) -> tuple[bytes, str, str]:
    """A line the grammar refuses (ERR-3 from the oracle); the fast parser names the field."""
    return line, clause, "ERR-3"


def out_of_range(line: bytes, clause: str) -> tuple[bytes, str, str]:
    """A line the grammar accepts and a range check refuses: both parsers name the clause."""
    return line, clause, clause


REJECTED_LINES: list[tuple[bytes, str, str]] = [
    # ERR-3: unknown commands, case-sensitive command words (LEX-4), wrong field counts.
    malformed(b"HELLO world", "ERR-3"),
    malformed(b"iamat c +1+1 1", "ERR-3"),
    malformed(b"IAMAt c +1+1 1", "ERR-3"),
    malformed(b"? IAMAT c +1+1 1", "ERR-3"),
    malformed(b"IAMAT", "ERR-3"),
    malformed(b"IAMAT c +1+1", "ERR-3"),
    malformed(b"IAMAT c +1+1 1 1", "ERR-3"),
    malformed(b"WHATSAT c 10", "ERR-3"),
    malformed(b"AT s +1 c +1+1", "ERR-3"),
    malformed(b"PEER s", "ERR-3"),
    malformed(b"PEER s 1 2", "ERR-3"),
    # LEX-1: U+00A0, U+0085 and U+001C as octets are not white space.
    malformed(b"IAMAT\xa0c +1+1 1", "ERR-3"),
    malformed(b"IAMAT c\x85+1+1 1", "ERR-3"),
    malformed(b"IAMAT c\x1c+1+1 1", "ERR-3"),
    # FRAME-1: an LF anywhere but at the end.
    malformed(b"IAMAT c\n+1+1 1", "FRAME-1"),
    malformed(b"IAMAT c +1+1 1\n\n", "FRAME-1"),
    malformed(b"\n\n", "FRAME-1"),
    # LEX-5: the form of a location, then its ranges.
    malformed(b"IAMAT c 34-118 1", "LEX-5"),
    malformed(b"IAMAT c +34 1", "LEX-5"),
    malformed(b"IAMAT c +1234+0 1", "LEX-5"),
    malformed(b"IAMAT c +1.+0 1", "LEX-5"),
    malformed(b"IAMAT c +1+.5 1", "LEX-5"),
    malformed(b"IAMAT c +1,5+0 1", "LEX-5"),
    malformed(b"IAMAT c +1+0+0 1", "LEX-5"),
    out_of_range(b"IAMAT c +91-118 1", "LEX-5"),
    out_of_range(b"IAMAT c +90.0000000001+0 1", "LEX-5"),
    out_of_range(b"IAMAT c -100+0 1", "LEX-5"),
    out_of_range(b"IAMAT c +0+180.5 1", "LEX-5"),
    out_of_range(b"IAMAT c +0-181 1", "LEX-5"),
    out_of_range(b"IAMAT c +0+999 1", "LEX-5"),
    out_of_range(b"AT s +0.5 c +100+1 1", "LEX-5"),
    # LEX-6: a POSIX time is unsigned decimal seconds.
    malformed(b"IAMAT c +1+1 -1", "LEX-6"),
    malformed(b"IAMAT c +1+1 +1", "LEX-6"),
    malformed(b"IAMAT c +1+1 1e9", "LEX-6"),
    malformed(b"IAMAT c +1+1 1.", "LEX-6"),
    malformed(b"IAMAT c +1+1 .5", "LEX-6"),
    malformed(b"IAMAT c +1+1 1.5.5", "LEX-6"),
    malformed(b"AT s +0.5 c +1+1 x", "LEX-6"),
    # AT-2: the time difference carries its sign.
    malformed(b"AT s 0.5 c +1+1 1", "AT-2"),
    malformed(b"AT s +.5 c +1+1 1", "AT-2"),
    # WHATSAT-2: the radius, its form then its range, however many digits.
    malformed(b"WHATSAT c -1 5", "WHATSAT-2"),
    malformed(b"WHATSAT c 1e1 5", "WHATSAT-2"),
    malformed(b"WHATSAT c 10. 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 0 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 000.000 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 50.0001 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 51 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 100 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c " + b"9" * 5000 + b" 5", "WHATSAT-2"),
    out_of_range(b"WHATSAT c 1" + b"0" * 5000 + b".5 5", "WHATSAT-2"),
    # WHATSAT-3: the bound, its form then its range.
    malformed(b"WHATSAT c 10 -1", "WHATSAT-3"),
    malformed(b"WHATSAT c 10 1.0", "WHATSAT-3"),
    out_of_range(b"WHATSAT c 10 21", "WHATSAT-3"),
    out_of_range(b"WHATSAT c 10 100", "WHATSAT-3"),
    out_of_range(b"WHATSAT c 10 " + b"1" * 5000, "WHATSAT-3"),
    # PEER-1: 1 to 64 of [0-9A-Za-z_-].
    malformed(b"PEER s bad!", "PEER-1"),
    malformed(b"PEER s " + b"x" * 65, "PEER-1"),
]


@pytest.mark.parametrize(("line", "clause", "oracle_clause"), REJECTED_LINES)
def test_an_invalid_line_is_refused_with_its_clause(line: bytes, clause: str, oracle_clause: str) -> None:
    with pytest.raises(ProtocolError) as fast:
        parse_line(line)
    assert fast.value.clause == clause
    with pytest.raises(ProtocolError) as oracle:
        parse_line_lark(line)
    assert oracle.value.clause == oracle_clause


@pytest.mark.parametrize(("line", "clause", "oracle_clause"), REJECTED_LINES)
def test_the_server_answers_an_invalid_line_with_a_copy_of_it(
    line: bytes, clause: str, oracle_clause: str
) -> None:
    with pytest.raises(ProtocolError):
        parse_line(line)
    assert error_reply(line) == b"? " + line + b"\n"


def test_a_protocol_error_is_a_value_error_naming_its_clause() -> None:
    error = ProtocolError("radius must be in (0, 50] km", clause="WHATSAT-2")
    assert isinstance(error, ValueError)
    assert error.clause == "WHATSAT-2"
    assert str(error) == "radius must be in (0, 50] km"


def test_white_space_is_the_six_octets_of_lex_1() -> None:
    assert WHITESPACE == b" \t\n\v\f\r"
    assert [octet for octet in range(256) if bytes([octet]).split() == []] == sorted(WHITESPACE)


# ---- formatting ----------------------------------------------------------------------------

FORMATTED: list[tuple[Message, bytes]] = [
    (IAmAt(b"c", b"+1-1", b"1.5"), b"IAMAT c +1-1 1.5\n"),
    (WhatsAt(b"c", b"10.50", 5), b"WHATSAT c 10.50 5\n"),
    (
        At(b"Clark", b"-0.500000000", b"\xff\x00", b"+1-1", b"1.5"),
        b"AT Clark -0.500000000 \xff\x00 +1-1 1.5\n",
    ),
    (Peer(b"Bona", b"42"), b"PEER Bona 42\n"),
]


@pytest.mark.parametrize(("message", "line"), FORMATTED)
def test_format_message_writes_the_canonical_line(message: Message, line: bytes) -> None:
    assert format_message(message) == line
    assert parse_both(line) == message
    assert parse_both(line[:-1]) == message


def test_a_message_keeps_the_clients_strings_but_the_bound_is_a_number() -> None:
    # IAMAT-5: the location and time come back byte for byte; the bound is canonical.
    message = parse_both(b"WHATSAT c 010.0 007")
    assert message == WhatsAt(b"c", b"010.0", 7)
    assert format_message(message) == b"WHATSAT c 010.0 7\n"
    message = parse_both(b"\tIAMAT  c\r+034.50-000.0\v0001.10 ")
    assert message is not None
    assert format_message(message) == b"IAMAT c +034.50-000.0 0001.10\n"


def test_format_at_is_single_spaced_without_lf() -> None:
    at = parse_both(b"AT\tClark  +0.1 c\v+1+1\f1 ")
    assert isinstance(at, At)
    assert format_at(at) == b"AT Clark +0.1 c +1+1 1"


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"HELLO", b"? HELLO\n"),
        (b"HELLO\r", b"? HELLO\n"),  # ERR-2: one CR that ended a telnet line goes
        (b"HELLO\r\r", b"? HELLO\r\n"),  # only one
        (b"\r", b"? \n"),
        (b"", b"? \n"),
        (b"  IAMAT\tc \xff ", b"?   IAMAT\tc \xff \n"),  # the rest is copied byte for byte
        (b"HEL\rLO", b"? HEL\rLO\n"),
    ],
)
def test_error_reply_copies_the_line(line: bytes, reply: bytes) -> None:
    assert error_reply(line) == reply


# ---- exact numbers -------------------------------------------------------------------------


def reference_time_diff(received_ns: int, client_time: bytes) -> bytes:
    """AT-2 by another route: rational arithmetic, then half a nanosecond up and floor."""
    diff_ns = Fraction(received_ns) - Fraction(client_time.decode()) * 10**9
    rounded = (diff_ns + Fraction(1, 2)).__floor__()
    sign = b"-" if rounded < 0 else b"+"
    seconds, nanoseconds = divmod(abs(rounded), 10**9)
    return b"%s%d.%09d" % (sign, seconds, nanoseconds)


@pytest.mark.parametrize(
    ("received_ns", "client_time", "expected"),
    [
        # The handout's example: 1621464828.223372889 - 1621464827.959498503.
        (1_621_464_828_223_372_889, b"1621464827.959498503", b"+0.263874386"),
        # Negative: the client's clock is ahead.
        (1_621_464_827_000_000_000, b"1621464827.5", b"-0.500000000"),
        (0, b"3", b"-3.000000000"),
        # Zero carries '+'.
        (1_621_464_827_500_000_000, b"1621464827.5", b"+0.000000000"),
        (1_621_464_827_500_000_000, b"1621464827.500000000000", b"+0.000000000"),
        (0, b"0", b"+0.000000000"),
        # Fewer than nine fractional digits, leading zeros.
        (2_000_000_000, b"0001.25", b"+0.750000000"),
        # More than nine fractional digits: to the nearest nanosecond, halves upward.
        (0, b"0.0000000004", b"+0.000000000"),
        (0, b"0.0000000005", b"+0.000000000"),  # -0.5 ns goes up to 0
        (0, b"0.0000000005000001", b"-0.000000001"),
        (0, b"0.0000000015", b"-0.000000001"),  # -1.5 ns goes up to -1
        (1, b"0.0000000005", b"+0.000000001"),  # +0.5 ns goes up to +1
        (1, b"0.00000000049999999999999999999", b"+0.000000001"),
        (10**9, b"0.9999999994", b"+0.000000001"),  # 0.6 ns
        (10**9, b"0.9999999995", b"+0.000000001"),  # 0.5 ns
        (10**9, b"0.99999999951", b"+0.000000000"),  # 0.49 ns
        # Either side of the one-second fast path (0 <= difference < 1 s).
        (1_700_000_000_999_999_999, b"1700000000", b"+0.999999999"),
        (1_700_000_001_000_000_000, b"1700000000", b"+1.000000000"),
        (1_700_000_000_000_000_000, b"1700000000.000000001", b"-0.000000001"),
        (1_700_000_000_000_000_000, b"1700000000.000000000", b"+0.000000000"),
        # Huge received times and client times.
        (10**30, b"0", b"+1000000000000000000000.000000000"),
        (2_000_000_000, b"9" * 30, b"-" + b"9" * 29 + b"7.000000000"),
    ],
)
def test_format_time_diff_is_exact(received_ns: int, client_time: bytes, expected: bytes) -> None:
    assert format_time_diff(received_ns, client_time) == expected
    assert reference_time_diff(received_ns, client_time) == expected


def test_format_time_diff_takes_any_number_of_digits() -> None:
    # int() refuses more than 4300 digits; a 64 KiB line holds many more.
    assert format_time_diff(2_000_000_000, b"9" * 5000) == b"-" + b"9" * 4999 + b"7.000000000"
    assert format_time_diff(1_500_000_000, b"1." + b"0" * 9000 + b"1") == b"+0.500000000"
    assert format_time_diff(1_000_000_000, b"1." + b"0" * 9 + b"5" + b"0" * 9000) == b"+0.000000000"
    assert format_time_diff(1_000_000_000, b"1." + b"0" * 9 + b"5" + b"0" * 9000 + b"1") == b"-0.000000001"


def test_a_time_diff_reparses_as_the_at_field() -> None:
    at = At(b"s", format_time_diff(0, b"12.5"), b"c", b"+1+1", b"12.5")
    assert parse_both(format_message(at)) == at


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (b"9.99", b"10"),
        (b"1", b"1.000000000000000000001"),
        (b"0.09", b"0.1"),
        (b"0.19", b"0.9"),
        (b"1621464827.959498503", b"1621464827.959498504"),
        (b"99", b"100"),
        (b"0099", b"100"),
        (b"9" * 5000, b"1" + b"0" * 5000),
    ],
)
def test_is_newer_compares_exact_values(earlier: bytes, later: bytes) -> None:
    assert Decimal(earlier.decode()) < Decimal(later.decode())  # the cases are what they claim
    assert is_newer(later, earlier)
    assert not is_newer(earlier, later)
    assert time_key(earlier) < time_key(later)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"1.5", b"1.50"),
        (b"1", b"1.0"),
        (b"1", b"01"),
        (b"0", b"0.000"),
        (b"0", b"00"),
        (b"7" * 5000, b"7" * 5000 + b".0"),
    ],
)
def test_equal_times_are_duplicates_not_newer(first: bytes, second: bytes) -> None:
    # FLOOD-2: an equal timestamp, however written, is a duplicate.
    assert time_key(first) == time_key(second)
    assert not is_newer(first, second)
    assert not is_newer(second, first)


@pytest.mark.parametrize(
    ("location", "degrees"),
    [
        (b"+34.068930-118.445127", ("34.068930", "-118.445127")),
        (b"-90+180", ("-90", "180")),
        (b"+0-0", ("0", "-0")),
        (b"+007.50-000.25", ("007.50", "-000.25")),
    ],
)
def test_location_degrees_keeps_the_digits(location: bytes, degrees: tuple[str, str]) -> None:
    assert location_degrees(location) == degrees


@pytest.mark.parametrize("location", [b"34-118", b"+34", b"+1234+0", b"+1.+0", b""])
def test_location_degrees_refuses_a_malformed_location(location: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        location_degrees(location)
    assert error.value.clause == "LEX-5"
