"""LocationTable: strictly-newer wins, exact client-time comparison, and collisions in the
compact hash-keyed storage never mix two clients up."""

from __future__ import annotations

import random

import pytest

from herdref.herd.state import LocationTable, _holds_client, _is_newer, client_id_of, client_time_of
from herdref.protocol import At, format_at, is_newer


def at_line(client_id: bytes, client_time: bytes, server: bytes = b"Bailey") -> bytes:
    return format_at(At(server, b"+0.000000001", client_id, b"+34.068930-118.445127", client_time))


class CollidingTable(LocationTable):
    """Every client ID of the same length lands in the same slot."""

    __slots__ = ()

    @staticmethod
    def _key(client_id: bytes) -> int:
        return len(client_id)


@pytest.fixture(params=[LocationTable, CollidingTable], ids=["hashed", "colliding"])
def table(request: pytest.FixtureRequest) -> LocationTable:
    table_class: type[LocationTable] = request.param
    return table_class()


def store(table: LocationTable, client_id: bytes, client_time: bytes, server: bytes = b"Bailey") -> bool:
    return table.update(client_id, client_time, at_line(client_id, client_time, server))


def test_fields_are_read_back_out_of_the_line() -> None:
    line = at_line(b"k\xffwi", b"1700000000.5")
    assert client_id_of(line) == b"k\xffwi"
    assert client_time_of(line) == b"1700000000.5"


def test_first_record_is_stored_and_reported_new(table: LocationTable) -> None:
    assert store(table, b"kiwi", b"10.5")
    assert table.get(b"kiwi") == at_line(b"kiwi", b"10.5")
    assert b"kiwi" in table
    assert len(table) == 1


def test_only_a_strictly_newer_time_replaces(table: LocationTable) -> None:
    store(table, b"kiwi", b"10.5", server=b"Bailey")
    assert not store(table, b"kiwi", b"10.50", server=b"Bona")  # equal value: a duplicate
    assert not store(table, b"kiwi", b"10.4999999999999", server=b"Bona")
    assert table.get(b"kiwi") == at_line(b"kiwi", b"10.5", b"Bailey")
    assert store(table, b"kiwi", b"10.5000000000001", server=b"Bona")
    assert table.get(b"kiwi") == at_line(b"kiwi", b"10.5000000000001", b"Bona")
    assert len(table) == 1


def test_clients_sharing_a_slot_stay_apart(table: LocationTable) -> None:
    ids = [b"aaaa", b"bbbb", b"cccc"]  # one slot in the colliding table
    for index, client_id in enumerate(ids):
        assert store(table, client_id, b"%d" % (index + 10))
    assert len(table) == 3
    assert not store(table, b"bbbb", b"11")  # duplicate of the middle one
    assert store(table, b"bbbb", b"12")
    assert [table.get(client_id) for client_id in ids] == [
        at_line(b"aaaa", b"10"),
        at_line(b"bbbb", b"12"),
        at_line(b"cccc", b"12"),
    ]
    assert sorted(table.items()) == sorted((client_id, table.get(client_id)) for client_id in ids)
    assert len(table) == 3


def test_an_absent_client_is_absent_even_in_an_occupied_slot(table: LocationTable) -> None:
    store(table, b"aaaa", b"1")
    assert table.get(b"zzzz") is None
    assert b"zzzz" not in table
    assert table.get(b"zz") is None
    assert "aaaa" not in table  # only bytes IDs are stored
    store(table, b"bbbb", b"1")
    assert table.get(b"cccc") is None


def test_items_lists_every_client_once(table: LocationTable) -> None:
    expected = {}
    for number in range(200):
        client_id = b"c%03d" % number
        store(table, client_id, b"%d.1" % number)
        store(table, client_id, b"%d.2" % number)
        expected[client_id] = at_line(client_id, b"%d.2" % number)
    assert dict(table.items()) == expected
    assert len(list(table.items())) == len(table) == 200


def test_fast_time_comparison_agrees_with_the_exact_one() -> None:
    rng = random.Random(7)

    def decimal() -> bytes:
        whole = b"%d" % rng.choice([0, 1, 9, 10, 99, 1_700_000_000, 1_700_000_001])
        whole = b"0" * rng.choice([0, 0, 1]) + whole
        if rng.random() < 0.2:
            return whole
        return whole + b"." + b"".join(b"%d" % rng.choice([0, 0, 5, 9]) for _ in range(rng.randrange(1, 12)))

    for _ in range(5000):
        first, second = decimal(), decimal()
        assert _is_newer(first, second) == is_newer(first, second), (first, second)


def test_client_check_matches_the_split_field() -> None:
    line = at_line(b"kiwi.cs", b"1.5")
    # Client IDs never hold white space (LEX-1), so no candidate does.
    for candidate in (b"kiwi.cs", b"iwi.cs", b"xkiwi.cs", b"kiwi.c", b"s", b"", b"1", b"AT"):
        assert _holds_client(line, candidate) == (client_id_of(line) == candidate), candidate


def test_a_full_table_refuses_new_clients_and_updates_held_ones() -> None:
    # LIMIT-7: at most max_clients client IDs; a new one is refused (and counted) once full.
    table = LocationTable(max_clients=2)
    for client in (b"a", b"b"):
        assert table.update(client, b"1", b"AT S +0.1 %s +1+2 1" % client)
    assert not table.update(b"c", b"1", b"AT S +0.1 c +1+2 1")
    assert table.refused == 1 and len(table) == 2 and table.get(b"c") is None
    assert table.update(b"a", b"2", b"AT S +0.1 a +1+2 2")  # a held client still updates
    assert table.get(b"a") == b"AT S +0.1 a +1+2 2" and table.refused == 1


def test_a_full_table_refuses_a_new_client_that_shares_a_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap holds for a client whose key collides with a held one, too.
    monkeypatch.setattr(LocationTable, "_key", staticmethod(lambda client_id: 7))
    table = LocationTable(max_clients=1)
    assert table.update(b"a", b"1", b"AT S +0.1 a +1+2 1")
    assert not table.update(b"b", b"1", b"AT S +0.1 b +1+2 1")
    assert table.refused == 1 and len(table) == 1
