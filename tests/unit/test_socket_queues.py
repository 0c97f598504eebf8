"""How floods to a stopped server wait, read from the kernel's TCP tables (no server needed)."""

from __future__ import annotations

from pathlib import Path

from herdref.checker.socket_queues import PortQueues, how_floods_wait, parse_tcp_table, port_queues

#: /proc/net/tcp with a server on port 21354 (0x536A): listening with 101 connections waiting to
#: be accepted, and two established connections to it holding 0x5E000 and 0x10 unread octets;
#: a connection from it (local port 0xC350) and another server's listener are not its own.
TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:536A 00000000:0000 0A 00000000:00000065 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:536A 0100007F:9C40 01 00000000:0005E000 00:00000000 00000000     0        0 2 1 0 20 4 0 10 -1
   2: 0100007F:536A 0100007F:9C41 01 00000000:00000010 00:00000000 00000000     0        0 3 1 0 20 4 0 10 -1
   3: 0100007F:C350 0100007F:536A 01 00004000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 0 10 -1
   4: 0100007F:536B 00000000:0000 0A 00000000:00000007 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
"""


def test_a_port_shows_its_accept_queue_and_its_unread_octets() -> None:
    assert parse_tcp_table(TABLE, 0x536A) == PortQueues(accept_queue=101, unread=0x5E010, connections=2)
    assert parse_tcp_table(TABLE, 0x1234) == PortQueues(accept_queue=None, unread=0, connections=0)


def test_tables_are_summed_and_unreadable_ones_skipped(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(TABLE)
    queues = port_queues([0x536A, 0x536B], (tmp_path / "tcp", tmp_path / "missing"))
    assert queues is not None
    assert queues[0x536B] == PortQueues(accept_queue=7, unread=0, connections=0)
    assert port_queues([0x536A], (tmp_path / "missing",)) is None


def test_the_words_name_the_mechanism_the_queues_show_and_both_where_they_show_neither() -> None:
    many_waiting = {21354: PortQueues(accept_queue=101, unread=1_500_000, connections=101)}
    assert how_floods_wait("Juzang", many_waiting).startswith(
        "101 connections wait in Juzang's accept queue on port 21354: "
        "a flood that opens a connection per record"
    )
    unread = {21354: PortQueues(accept_queue=0, unread=386_000, connections=3)}
    assert how_floods_wait("Juzang", unread).startswith(
        "377 KiB wait unread in 3 connection(s) to Juzang's port 21354: a flood written synchronously"
    )
    for unknown in (None, {21354: PortQueues(accept_queue=None, unread=0, connections=0)}):
        words = how_floods_wait("Juzang", unknown)
        assert words.startswith("either a flood written synchronously"), words
        assert "or a flood that opens a connection per record blocks in connect()" in words
