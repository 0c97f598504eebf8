"""The fast parser against the normative grammar, on generated and on mutated lines.

* Every sentence ``from_lark`` draws from spec/grammar.lark (start ``inbound``) parses with both
  parsers, unless a range check refuses it, and then both name the same clause.
* Every AT line the grammar allows a server to send (start ``at_reply``) is a valid inbound AT
  line that formats back to itself; every ``? <line>`` the server sends for a refused line is
  a sentence of ``error_reply``.
* ``parse_line(format_message(m)) == m`` for messages built from field strategies.
* The fast parser and the grammar oracle agree (the same message, or both refuse; a range
  refusal with the same clause) on generated lines and on the same lines mutated: octets
  inserted, deleted, swapped or replaced, fields duplicated or dropped, white space changed,
  case changed.
* Any octets given to either parser give a message, ``None`` or ``ProtocolError``, and the
  numbers of a message can always be formatted and compared: never another exception.

The grammar is written over characters U+0000..U+00FF, one per octet, so generated text is
encoded with latin-1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

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
    iamat_fields,
    is_newer,
    lark_parser,
    location_degrees,
    parse_line,
    parse_line_lark,
    time_key,
)

pytestmark = pytest.mark.properties

# A line the grammar accepts can still be refused by a range check (LEX-5 latitude and
# longitude, WHATSAT-2 radius, WHATSAT-3 bound); the grammar itself refuses with ERR-3.
RANGE_CLAUSES = frozenset({"LEX-5", "WHATSAT-2", "WHATSAT-3"})

# The agreement properties are the point of this file and cheap: four times the profile's examples.
MANY_EXAMPLES = settings(max_examples=4 * settings().max_examples)

GRAMMAR = lark_parser()  # built once, here, so that no example pays for it
LATIN_1 = st.characters(max_codepoint=0xFF)


def grammar_sentences(start: str) -> st.SearchStrategy[bytes]:
    return from_lark(GRAMMAR, start=start, alphabet=LATIN_1).map(lambda text: text.encode("latin-1"))


@dataclass(frozen=True)
class Refused:
    clause: str


def outcome(parse: Callable[[bytes], Message | None], line: bytes) -> Message | Refused | None:
    """What ``parse`` makes of ``line``; any exception but ProtocolError fails the test."""
    try:
        return parse(line)
    except ProtocolError as error:
        return Refused(error.clause)


def agreed_outcome(line: bytes) -> Message | Refused | None:
    """The outcome of both parsers, after checking that they agree on ``line``."""
    fast = outcome(parse_line, line)
    oracle = outcome(parse_line_lark, line)
    if isinstance(oracle, Refused):
        assert isinstance(fast, Refused), f"only the grammar refuses {line!r} ({oracle.clause}): {fast!r}"
        if oracle.clause in RANGE_CLAUSES:
            assert fast.clause == oracle.clause, line
    else:
        assert fast == oracle, line
    # The server's IAMAT fast path takes exactly the grammar's IAMATs written the usual way
    # (command first, no LF), with the same fields, and nothing else.
    fields = iamat_fields(line)
    if fields is not None:
        assert oracle == IAmAt(*fields[1:]), f"the fast path takes {line!r}: {oracle!r}"
    elif isinstance(oracle, IAmAt):
        assert not line.startswith(b"IAMAT") or b"\n" in line, f"the fast path misses {line!r}"
    if currently_in_test_context():  # the mix of outcomes, for --hypothesis-show-statistics
        event(
            f"refused: {oracle.clause}" if isinstance(oracle, Refused) else f"parsed: {type(oracle).__name__}"
        )
    return oracle


# ---- field and message strategies ----------------------------------------------------------

NON_WHITE_SPACE = [bytes([octet]) for octet in range(256) if octet not in WHITESPACE]
identifiers = st.lists(st.sampled_from(NON_WHITE_SPACE), min_size=1, max_size=12).map(b"".join)
signs = st.sampled_from([b"+", b"-"])


def digit_strings(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[bytes]:
    return st.text("0123456789", min_size=min_size, max_size=max_size).map(str.encode)


fractions = st.one_of(st.just(b""), digit_strings().map(lambda digits: b"." + digits))
zero_fractions = st.sampled_from([b"", b".0", b".000000000000"])
posix_times = st.builds(bytes.__add__, digit_strings(), fractions)
time_diffs = st.builds(lambda sign, time: sign + time, signs, posix_times)


@st.composite
def degrees(draw: st.DrawFn, limit: int) -> bytes:
    """``±D[.F]`` in [-limit, limit], 1 to 3 integer digits (LEX-5)."""
    whole = draw(st.integers(0, limit))
    width = draw(st.integers(len(str(whole)), 3))
    fraction = draw(zero_fractions if whole == limit else fractions)
    return draw(signs) + str(whole).zfill(width).encode() + fraction


locations = st.builds(bytes.__add__, degrees(90), degrees(180))


@st.composite
def radii(draw: st.DrawFn) -> bytes:
    """A radius in (0, 50] km, leading zeros allowed (WHATSAT-2)."""
    whole = draw(st.integers(0, 50))
    if whole == 50:
        fraction = draw(zero_fractions)
    elif whole == 0:  # a fraction with a nonzero digit somewhere
        fraction = b"." + draw(digit_strings(0, 6)) + draw(st.sampled_from(b"123456789")).to_bytes()
        fraction += draw(digit_strings(0, 6))
    else:
        fraction = draw(fractions)
    return b"0" * draw(st.integers(0, 2)) + b"%d" % whole + fraction


messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(IAmAt, identifiers, locations, posix_times),
    st.builds(WhatsAt, identifiers, radii(), st.integers(0, 20)),
    st.builds(At, identifiers, time_diffs, identifiers, locations, posix_times),
    st.builds(Peer, identifiers, st.from_regex(rb"[0-9A-Za-z_-]{1,64}", fullmatch=True)),
)

# White space other than LF, which only ends a line (FRAME-1).
gaps = st.lists(st.sampled_from([b" ", b"\t", b"\v", b"\f", b"\r"]), min_size=1, max_size=3).map(b"".join)
optional_gaps = st.one_of(st.just(b""), gaps)


@st.composite
def spaced(draw: st.DrawFn, fields: list[bytes]) -> bytes:
    """``fields`` joined by drawn white space, with drawn leading and trailing white space."""
    line = draw(optional_gaps)
    for index, field in enumerate(fields):
        line += (draw(gaps) if index else b"") + field
    return line + draw(optional_gaps)


@st.composite
def spaced_messages(draw: st.DrawFn) -> tuple[Message, bytes]:
    message = draw(messages)
    return message, draw(spaced(format_message(message).split()))


def near_edges(edges: list[str], width: int) -> list[bytes]:
    """Unsigned decimals at and next to the edges of a range, with and without leading zeros
    and with fractions that are zero, tiny, a half and nearly one."""
    wholes = {whole.zfill(size) for whole in edges for size in range(len(whole), width + 1)}
    fractions = ["", ".0", ".000", ".0000000001", ".1", ".5", ".9999"]
    return sorted((whole + fraction).encode() for whole in wholes for fraction in fractions)


LATITUDES_NEAR_EDGES = near_edges(["0", "1", "89", "90", "91", "99", "100", "999"], 3)
LONGITUDES_NEAR_EDGES = near_edges(["0", "1", "99", "100", "179", "180", "181", "999"], 3)
RADII_NEAR_EDGES = near_edges(["0", "1", "49", "50", "51", "100"], 4)
BOUNDS_NEAR_EDGES = [b"0", b"00", b"1", b"19", b"019", b"20", b"020", b"0020", b"21", b"021", b"99", b"100"]
# One coordinate near its edges, the other valid, so that the first decides the outcome.
edge_locations = st.one_of(
    st.builds(
        lambda sign, latitude, longitude: sign + latitude + longitude,
        signs,
        st.sampled_from(LATITUDES_NEAR_EDGES),
        degrees(180),
    ),
    st.builds(
        lambda latitude, sign, longitude: latitude + sign + longitude,
        degrees(90),
        signs,
        st.sampled_from(LONGITUDES_NEAR_EDGES),
    ),
)
edge_fields = st.one_of(
    st.tuples(st.just(b"IAMAT"), identifiers, edge_locations, posix_times),
    st.tuples(st.just(b"WHATSAT"), identifiers, st.sampled_from(RADII_NEAR_EDGES), st.just(b"5")),
    st.tuples(st.just(b"WHATSAT"), identifiers, radii(), st.sampled_from(BOUNDS_NEAR_EDGES)),
    st.tuples(st.just(b"AT"), identifiers, time_diffs, identifiers, edge_locations, posix_times),
)
# Lines whose every field has the right form and whose numbers sit near the edges of their
# ranges: what the semantic checks of the two parsers decide.
edge_lines = edge_fields.map(list).flatmap(spaced)


# ---- mutations -----------------------------------------------------------------------------

# Octets that sit on a boundary of some rule: NUL, U+0085 and U+00A0 (white space for
# str.split(), not for LEX-1), 0xFF, the six white-space octets, signs, the decimal point,
# digits, the range edges' digits.
NASTY_OCTETS = b"\x00\x85\xa0\xff \t\n\v\f\r+-.0159"
octets = st.one_of(st.sampled_from(list(NASTY_OCTETS)), st.integers(0, 255)).map(lambda octet: bytes([octet]))
LINE_EDITS = ["insert", "delete", "swap", "replace", "run", "case", "respace", "duplicate", "drop"]
FIELD_EDITS = ["sign", "point", "zeros", "grow"]


def boundaries(line: bytes) -> list[int]:
    """Both ends of ``line`` and the positions next to white space, a sign or a decimal point."""
    marks = WHITESPACE + b"+-."
    return [
        index
        for index in range(len(line) + 1)
        if index in (0, len(line)) or line[index - 1] in marks or line[index] in marks
    ]


@st.composite
def edited_line(draw: st.DrawFn, line: bytes) -> bytes:
    """``line`` with one edit of its octets or of its list of fields."""
    edit = draw(st.sampled_from(LINE_EDITS))
    # Anywhere, or where a field starts or ends, or next to a sign or a decimal point.
    position = draw(st.one_of(st.integers(0, len(line)), st.sampled_from(boundaries(line))))
    after = position + 1
    if edit == "insert":
        return line[:position] + draw(octets) + line[position:]
    if edit == "delete":
        return line[:position] + line[after:]
    if edit == "swap":
        return line[:position] + line[after : after + 1] + line[position:after] + line[after + 1 :]
    if edit == "replace":
        return line[:position] + draw(octets) + line[after:]
    if edit == "run":  # long runs of one octet: int() refuses more than 4300 digits
        length = draw(st.sampled_from([2, 3, 64, 65, 4301, 5000]))
        return line[:position] + draw(octets) * length + line[position:]
    if edit == "case":
        end = draw(st.integers(position, len(line)))
        change = draw(st.sampled_from([bytes.swapcase, bytes.upper, bytes.lower]))
        return line[:position] + change(line[position:end]) + line[end:]
    fields = line.split()
    if fields and edit == "duplicate":
        index = draw(st.integers(0, len(fields) - 1))
        fields.insert(index, fields[index])
    elif fields and edit == "drop":
        del fields[draw(st.integers(0, len(fields) - 1))]
    return draw(spaced(fields))


@st.composite
def edited_field(draw: st.DrawFn, field: bytes) -> bytes:
    """``field`` with a sign, a decimal point, leading zeros or length added or taken away."""
    edit = draw(st.sampled_from(FIELD_EDITS))
    if edit == "sign":
        return field[1:] if field[:1] in (b"+", b"-") else draw(signs) + field
    if edit == "point":
        if b"." in field:
            return field.replace(b".", b"", 1)
        position = draw(st.integers(0, len(field)))
        return field[:position] + b"." + field[position:]
    if edit == "zeros":
        start = 1 if field[:1] in (b"+", b"-") else 0
        return field[:start] + b"0" * draw(st.integers(1, 3)) + field[start:]
    return field + field[-1:] * draw(st.sampled_from([1, 2, 63, 64]))


@st.composite
def mutated(draw: st.DrawFn, line: bytes) -> bytes:
    """``line`` after one edit, more rarely up to four."""
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        fields = line.split()
        edit_a_field = draw(st.booleans())
        if fields and edit_a_field:
            index = draw(st.integers(0, len(fields) - 1))
            fields[index] = draw(edited_field(fields[index]))
            line = draw(spaced(fields))
        else:
            line = draw(edited_line(line))
    return line


base_lines = st.one_of(spaced_messages().map(lambda pair: pair[1]), edge_lines, grammar_sentences("inbound"))
mutated_lines = base_lines.flatmap(mutated)


# ---- every line one edit away from a valid line --------------------------------------------

CANONICAL_LINES = [
    b"IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503",
    b"IAMAT c +90-180 0",
    b"IAMAT c -89.5+179.5 1.5",
    b"WHATSAT kiwi.cs.ucla.edu 10 5",
    b"WHATSAT c 50 20",
    b"WHATSAT c 0.5 0",
    b"AT Clark +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503",
    b"AT s -1 c +90.0-180.0 0",
    b"PEER Bailey 1",
    b"PEER s " + b"x" * 63,
]


def field_variants(field: bytes) -> set[bytes]:
    """``field`` with its sign, a decimal point, a digit, leading zeros or its length changed."""
    unsigned = field[1:] if field[:1] in (b"+", b"-") else field
    variants = {unsigned, b"+" + unsigned, b"-" + unsigned, field.replace(b".", b"", 1)}
    variants |= {field[:index] + b"." + field[index:] for index in range(len(field) + 1)}
    for index in range(len(field)):
        variants |= {field[:index] + digit + field[index + 1 :] for digit in (b"0", b"1", b"5", b"9")}
    variants |= {field[: len(field) - len(unsigned)] + zeros + unsigned for zeros in (b"0", b"0" * 4301)}
    variants |= {field + field[-1:] * count for count in (1, 64 - len(field), 65 - len(field), 4301)}
    return variants - {b""}


def neighbours(line: bytes) -> set[bytes]:
    """Every line one edit away from ``line``: an octet inserted, replaced or deleted, a
    field changed (``field_variants``), duplicated or dropped, a gap written otherwise."""
    lines = set()
    for position in range(len(line) + 1):
        after = position + 1
        lines.add(line[:position] + line[after:])
        for octet in NASTY_OCTETS + b"aZ":
            lines.add(line[:position] + bytes([octet]) + line[position:])
            lines.add(line[:position] + bytes([octet]) + line[after:])
    fields = line.split()
    for index, field in enumerate(fields):
        for variant in field_variants(field):
            lines.add(b" ".join([*fields[:index], variant, *fields[index + 1 :]]))
        lines.add(b" ".join([*fields[:index], field, *fields[index:]]))
        lines.add(b" ".join([*fields[:index], *fields[index + 1 :]]))
        for gap in (b"\t", b"\v\f\r", b"\n", b"\xa0", b"\x85", b"\x1c"):
            lines.add(gap.join(fields[:index]) + gap + gap.join(fields[index:]))
    return lines


@pytest.mark.parametrize("line", CANONICAL_LINES)
def test_both_parsers_agree_on_every_line_one_edit_away(line: bytes) -> None:
    for neighbour in sorted(neighbours(line)):
        agreed_outcome(neighbour)


# ---- the properties ------------------------------------------------------------------------


@MANY_EXAMPLES
@given(grammar_sentences("inbound"))
def test_every_sentence_of_the_grammar_parses_unless_out_of_range(line: bytes) -> None:
    result = agreed_outcome(line)
    if isinstance(result, Refused):
        assert result.clause in RANGE_CLAUSES


@MANY_EXAMPLES
@given(edge_lines)
@example(b"WHATSAT c 10 21")
@example(b"WHATSAT c 50.0000000001 20")
@example(b"IAMAT c -90.0000000001+0 1")
@example(b"IAMAT c +0+180.0000000001 1")
def test_numbers_near_the_edges_of_their_ranges(line: bytes) -> None:
    result = agreed_outcome(line)
    if isinstance(result, Refused):
        assert result.clause in RANGE_CLAUSES


@given(grammar_sentences("at_reply"))
def test_an_at_reply_is_a_canonical_inbound_at_line(line: bytes) -> None:
    result = agreed_outcome(line)
    if isinstance(result, Refused):
        assert result.clause == "LEX-5"  # the grammar leaves the ranges of a location out
    else:
        assert isinstance(result, At)
        assert format_at(result) == line


@given(grammar_sentences("error_reply"))
def test_an_error_reply_is_never_a_message(line: bytes) -> None:
    assert isinstance(agreed_outcome(line), Refused)


@given(st.binary(max_size=40).filter(lambda line: b"\n" not in line))
def test_the_reply_to_a_refused_line_is_an_error_reply(line: bytes) -> None:
    if isinstance(agreed_outcome(line), Refused):
        reply = error_reply(line)
        assert reply.endswith(b"\n")
        GRAMMAR.parse(reply[:-1].decode("latin-1"), start="error_reply")


@given(messages)
def test_format_then_parse_gives_the_message(message: Message) -> None:
    line = format_message(message)
    assert parse_line(line) == message
    assert parse_line_lark(line) == message
    assert parse_line(line.rstrip(b"\n")) == message


@given(spaced_messages())
def test_white_space_between_fields_does_not_change_the_message(pair: tuple[Message, bytes]) -> None:
    message, line = pair
    assert agreed_outcome(line) == message
    assert parse_line(format_message(message)) == message


@MANY_EXAMPLES
@given(mutated_lines)
@example(b"IAMAT c +90.0000000001+0 1")
@example(b"IAMAT c +090.000-180.000 1")
@example(b"IAMAT c +1+1 1\n")
@example(b"IAMAT c\n+1+1 1")
@example(b"\n")
@example(b"IAMAT c +1+1 1\r\n\r")
@example(b"IAMAT\xa0c +1+1 1")
@example(b"IAMAT c\x85+1+1 1")
@example(b"IAMAT c +1+1 1\x00")
@example(b"iamat c +1+1 1")
@example(b"WHATSAT c 10 " + b"0" * 5000 + b"5")
@example(b"WHATSAT c 10 " + b"9" * 5000)
@example(b"WHATSAT c " + b"0" * 5000 + b".5 5")
@example(b"WHATSAT c " + b"9" * 5000 + b" 5")
@example(b"WHATSAT c 0." + b"0" * 5000 + b" 5")
@example(b"WHATSAT c 50." + b"0" * 5000 + b"1 5")
@example(b"IAMAT c +1+1 " + b"9" * 5000)
@example(b"PEER s " + b"x" * 65)
@example(b"AT s +1 c +1+1")
@example(b"AT s 0.5 c +1+1 1")
@example(b"? IAMAT c +1+1 1")
def test_both_parsers_agree_on_mutated_lines(line: bytes) -> None:
    agreed_outcome(line)


@given(st.one_of(st.binary(max_size=200), mutated_lines), st.integers(0, 2**64))
@example(b"IAMAT c +1+1 " + b"9" * 5000 + b"." + b"5" * 5000, 0)
@example(b"AT s +1 c +1+1 " + b"0" * 5000 + b"1." + b"0" * 5000, 2**64)
def test_any_octets_give_a_message_none_or_a_protocol_error(line: bytes, received_ns: int) -> None:
    for parse in (parse_line, parse_line_lark):
        result = outcome(parse, line)
        # A parsed message can always be answered: its numbers format and compare exactly.
        if isinstance(result, (IAmAt, At)):
            assert format_time_diff(received_ns, result.client_time)[:1] in (b"+", b"-")
            padded = result.client_time + (b"0" if b"." in result.client_time else b".0")
            assert time_key(padded) == time_key(result.client_time)  # same value, FLOOD-2
            assert len(location_degrees(result.location)) == 2
        if isinstance(result, (IAmAt, WhatsAt, At, Peer)):
            assert parse(format_message(result)) == result


# ---- the numbers a message carries ---------------------------------------------------------


def exact(decimal: bytes) -> Fraction:
    return Fraction(decimal.decode("ascii"))


@given(st.integers(0, 2**64), posix_times)
def test_a_time_difference_is_exact_to_the_nanosecond(received_ns: int, client_time: bytes) -> None:
    # AT-2: R - T rounded to the nearest nanosecond, ties toward +infinity; '+' for zero.
    diff = format_time_diff(received_ns, client_time)
    sign, seconds, nanoseconds = diff[:1], *diff[1:].split(b".")
    assert sign in (b"+", b"-")
    assert len(nanoseconds) == 9
    assert seconds == b"0" or not seconds.startswith(b"0")
    value = exact(diff)
    assert sign == (b"-" if value < 0 else b"+")  # never -0.000000000
    error = value - (Fraction(received_ns, 10**9) - exact(client_time))
    assert Fraction(-1, 2 * 10**9) < error <= Fraction(1, 2 * 10**9)


@given(posix_times, posix_times)
def test_newer_means_a_larger_exact_value(first: bytes, second: bytes) -> None:
    # FLOOD-2: strictly newer by value, however the digits are written.
    assert is_newer(first, second) == (exact(first) > exact(second))
    assert (time_key(first) == time_key(second)) == (exact(first) == exact(second))
