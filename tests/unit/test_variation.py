"""herdref.checker.variation: every generated valid line parses, with the fields drawn, by both
parsers of herdref.protocol; every generated invalid line is refused by both; the forms cover
what they promise; the same seed gives the same inputs."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from herdref.checker.checks import nanosecond
from herdref.checker.variation import (
    BOUNDARY_LOCATIONS,
    FRACTION_DIGITS,
    INTEGER_DIGITS,
    LINE_LENGTHS,
    Variation,
    split_points,
    splits,
)
from herdref.protocol import IAmAt, ProtocolError, WhatsAt, is_newer, parse_line, parse_line_lark

SEEDS = [0, 1, 7, 131, 2026, 4_294_967_295]


def parsed_by_both(line: bytes) -> object:
    """The message both parsers make of ``line``; they must agree."""
    fast, oracle = parse_line(line), parse_line_lark(line)
    assert fast == oracle, line
    return fast


def refused_by_both(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_line(line)
    with pytest.raises(ProtocolError):
        parse_line_lark(line)


@pytest.mark.parametrize("seed", SEEDS)
def test_iamat_lines_are_valid_with_the_fields_drawn(seed: int) -> None:
    variation = Variation(seed)
    for _ in range(200):
        fields = variation.iamat_fields(printable=False)
        assert parsed_by_both(b" ".join(fields)) == IAmAt(*fields[1:])
        line = variation.iamat_line(mixed=True, printable=False)
        message = parsed_by_both(line)
        assert isinstance(message, IAmAt)
        assert line.split() == [b"IAMAT", message.client_id, message.location, message.client_time]


@pytest.mark.parametrize("seed", SEEDS)
def test_whatsat_lines_are_valid_with_the_fields_drawn(seed: int) -> None:
    variation = Variation(seed)
    for _ in range(300):
        fields = variation.whatsat_fields()
        message = parsed_by_both(b" ".join(fields))
        assert message == WhatsAt(fields[1], fields[2], int(fields[3]))
        assert isinstance(parsed_by_both(variation.whatsat_line(mixed=True)), WhatsAt)


@pytest.mark.parametrize("seed", SEEDS)
def test_client_times_cover_every_digit_count_and_are_valid(seed: int) -> None:
    variation = Variation(seed)
    times = list(variation.client_times())
    forms = {(len(time.partition(b".")[0]), len(time.partition(b".")[2])) for time in times}
    assert forms == {(whole, fraction) for whole in INTEGER_DIGITS for fraction in FRACTION_DIGITS}
    for time in times:
        assert parsed_by_both(b"IAMAT c +1+1 " + time) == IAmAt(b"c", b"+1+1", time)


def test_client_time_outside_the_forms_is_refused() -> None:
    with pytest.raises(ValueError, match="1-19 integer"):
        Variation(0).client_time(20, 0)
    with pytest.raises(ValueError, match="0-12 fraction"):
        Variation(0).client_time(10, 13)


@pytest.mark.parametrize("count", [2, 5, 36])
def test_increasing_times_increase_but_not_as_strings(count: int) -> None:
    times = Variation(count).increasing_times(count)
    assert len(times) == count
    assert all(is_newer(later, earlier) for earlier, later in itertools.pairwise(times))
    assert sorted(times) != times  # a string comparison orders them wrongly
    for time in times:
        assert isinstance(parsed_by_both(b"IAMAT c +1+1 " + time), IAmAt)


@pytest.mark.parametrize("seed", SEEDS)
def test_locations_are_valid_and_reach_the_unusual_forms(seed: int) -> None:
    variation = Variation(seed)
    locations = [variation.location() for _ in range(400)]
    for location in [*locations, *BOUNDARY_LOCATIONS]:
        assert parsed_by_both(b"IAMAT c " + location + b" 1") == IAmAt(b"c", location, b"1")
    text = b" ".join(locations)
    assert b"+90" in text or b"-90" in text
    assert b"+180" in text or b"-180" in text
    assert any(b"." not in location for location in locations)  # integer degrees
    assert any(len(location) > 30 for location in locations)  # long fractions
    # Forms a herd that keeps degrees as floats prints back changed: an exponent for a tiny value
    # (repr(float("0.00001")) is '1e-05'), a trailing zero dropped.
    coordinates = [part for location in locations for part in _coordinates(location)]
    assert any("e" in repr(float(part)) for part in coordinates)
    assert any(part.endswith(b"0") and b"." in part for part in coordinates)


def _coordinates(location: bytes) -> list[bytes]:
    """The two signed numbers of a location, as sent."""
    second = max(location.rfind(b"+"), location.rfind(b"-"))
    return [location[:second], location[second:]]


def test_boundary_locations_include_the_named_edge_cases() -> None:
    assert {b"+34-118", b"+00+000", b"-0.0-0.0", b"+90+180", b"-90-180"} <= set(BOUNDARY_LOCATIONS)


@pytest.mark.parametrize("seed", SEEDS)
def test_long_lines_have_the_exact_lengths_from_100_to_4000(seed: int) -> None:
    variation = Variation(seed)
    lines = list(variation.long_lines(20))
    assert len(lines[0]) == 100 and len(lines[-1]) == 4000
    for line in lines:
        assert len(line) in LINE_LENGTHS
        assert isinstance(parsed_by_both(line), IAmAt)
    with pytest.raises(ValueError, match="100-4000"):
        variation.iamat_line(length=99)


@pytest.mark.parametrize("seed", SEEDS)
def test_extra_fields_anywhere_are_refused(seed: int) -> None:
    variation = Variation(seed)
    for fields in (variation.iamat_fields(), variation.whatsat_fields()):
        positions = []
        for position, line in variation.extra_field_lines(fields):
            positions.append(position)
            assert len(line.split()) == len(fields) + 1
            refused_by_both(line)
        assert positions == list(range(1, len(fields) + 1))  # the middle as well as the end


def test_split_points_are_every_offset_and_splits_rebuild_the_line() -> None:
    line = Variation(3).iamat_line() + b"\n"
    assert list(split_points(line)) == list(range(1, len(line)))
    pairs = list(splits(line))
    assert len(pairs) == len(line) - 1
    assert all(head and tail and head + tail == line for head, tail in pairs)


@pytest.mark.parametrize("pieces", [1, 2, 7, 40])
def test_split_line_cuts_into_non_empty_writes(pieces: int) -> None:
    variation = Variation(pieces)
    line = variation.iamat_line(length=200)
    writes = variation.split_line(line, pieces)
    assert len(writes) == pieces and all(writes) and b"".join(writes) == line
    with pytest.raises(ValueError, match="cannot cut"):
        variation.split_line(b"ab", 3)


def test_same_seed_same_inputs_and_the_seed_is_reported() -> None:
    def draw(variation: Variation) -> list[bytes]:
        return [variation.iamat_line(mixed=True), variation.whatsat_line(), *variation.client_times()]

    assert draw(Variation(42)) == draw(Variation(42))
    assert draw(Variation(42)) != draw(Variation(43))
    fresh = Variation()
    assert isinstance(fresh.seed, int) and repr(fresh) == f"Variation(seed={fresh.seed})"
    assert draw(Variation(fresh.seed)) == draw(Variation(fresh.seed))


def test_each_check_draws_its_own_inputs_from_the_run_seed() -> None:
    def draw(variation: Variation) -> list[bytes]:
        return [variation.client_time(), variation.location(), *variation.split_line(b"IAMAT a b c", 3)]

    # The same run seed and check name: the same inputs (alone, among others, on replay).
    assert draw(Variation.for_check(7, "frame-split-write")) == draw(
        Variation.for_check(7, "frame-split-write")
    )
    assert Variation.for_check(7, "skew").seed == Variation.for_check(7, "skew").seed
    # Another check or another run seed: other inputs.
    assert Variation.for_check(7, "skew").seed != Variation.for_check(7, "iamat-any-time").seed
    assert Variation.for_check(7, "skew").seed != Variation.for_check(8, "skew").seed


@pytest.mark.parametrize("seed", SEEDS)
def test_padded_ids_have_the_exact_length_and_keep_the_prefix(seed: int) -> None:
    variation = Variation(seed)
    for length in (20, 100, 1025, 4000):
        client = variation.padded_id(b"hv1.check.c.1", length)
        assert len(client) == length and client.startswith(b"hv1.check.c.1.")
        assert client[len(b"hv1.check.c.1.") :].isalnum()
        message = parsed_by_both(b"IAMAT %s +34-118 1.5" % client)
        assert isinstance(message, IAmAt) and message.client_id == client
    with pytest.raises(ValueError, match="cannot hold"):
        variation.padded_id(b"hv1.check.c.1", 14)


@pytest.mark.parametrize("seed", SEEDS)
def test_crossing_times_grow_in_value_but_not_as_strings(seed: int) -> None:
    variation = Variation(seed)
    for _ in range(50):
        older, newer = variation.crossing_times(9, 3)
        assert is_newer(newer, older) and not is_newer(older, newer)
        assert newer < older  # as strings, the newer one sorts first
        assert len(older.partition(b".")[0]) <= 9 and len(older.partition(b".")[2]) <= 3
        for client_time in (older, newer):
            assert isinstance(parsed_by_both(b"IAMAT c +0+0 " + client_time), IAmAt)
    with pytest.raises(ValueError, match="no crossing times"):
        variation.crossing_times(19, 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_separators_without_cr_draw_the_other_four(seed: int) -> None:
    variation = Variation(seed)
    drawn = b"".join(variation.separator(cr=False) for _ in range(200))
    assert set(drawn) == set(b" \t\x0b\x0c")
    assert b"\r" in b"".join(variation.separator() for _ in range(200))


@pytest.mark.parametrize("seed", SEEDS)
def test_without_integer_times_every_client_time_has_a_fraction(seed: int) -> None:
    # For a herd that refuses times without a fraction (LEX-6 strict): the one deviation is
    # reported by iamat-any-time, and every later check sends times it can take.
    variation = Variation(seed, integer_times=False)
    times = [
        *variation.client_times(),
        variation.client_time(5, 0),
        *variation.crossing_times(9, 3),
        *Variation.for_check(seed, "skew", integer_times=False).client_times(),
    ]
    assert all(b"." in time for time in times)
    assert any(b"." not in time for time in Variation(seed).client_times())


@pytest.mark.parametrize("side", ["below", "above"])
def test_the_nanosecond_pair_is_one_binary_float_even_where_a_float_boundary_falls_between(
    monkeypatch: pytest.MonkeyPatch, side: str
) -> None:
    """newer-by-value and flood-storm need two times 1 ns apart that a float comparison takes
    for equal; at one clock reading in some 240 the two straddle a rounding boundary."""
    whole = 1_796_601_282
    straddling = next(
        nanoseconds
        for nanoseconds in range(1, 10_000)
        if float(f"{whole}.{nanoseconds:09d}") != float(f"{whole}.{nanoseconds + 1:09d}")
    )
    now = whole * 1_000_000_000 + (straddling if side == "below" else straddling - 1)
    monkeypatch.setattr(nanosecond.time, "time_ns", lambda: now)
    first, second = nanosecond.nanosecond_pair()
    assert float(first) == float(second)
    assert Decimal(second.decode()) - Decimal(first.decode()) == Decimal("1e-9")
