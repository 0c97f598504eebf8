"""The checker's TCP client: reply framing, half-close reads, kept-open sessions, transcripts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from herdref.checker.client import (
    LineSession,
    Transcript,
    crlf_lines,
    exchange,
    reply_complete,
    reply_state,
    without_glued_stray_error,
)
from herdref.checker.dialect import _cut_on_half_close, _reported_client
from herdref.checker.framing_model import CommandProbe
from herdref.checker.target import BudgetSpent, CheckContext, Target
from herdref.herd.config import parse_config


@pytest.mark.parametrize(
    ("data", "whatsat", "complete"),
    [
        (b"AT A +0.1 c +1+1 1\n", False, True),
        (b"AT A +0.1 c +1+1 1", False, False),
        (b"? WHATSAT c 10 5\n", True, True),
        (b"AT A +0.1 c +1+1 1\n{}\n", True, False),
        (b"AT A +0.1 c +1+1 1\n{\n}\n\n", True, True),
    ],
)
def test_reply_complete_knows_where_a_reply_ends(data: bytes, whatsat: bool, complete: bool) -> None:
    assert reply_complete(data, whatsat=whatsat) is complete


_IAMAT = b"IAMAT c +34.1-118.2 1796313685.5\n"
_AT = b"AT A +0.1 c +34.1-118.2 1796313685.5"
_WHATSAT = b"WHATSAT c 10 1\n"


@pytest.mark.parametrize(
    ("data", "request_line", "whatsat", "state"),
    [
        (_AT + b"\n", _IAMAT, False, "complete"),
        (_AT, _IAMAT, False, "unterminated"),  # no final LF: SPEC 1.1 lenient
        (_AT[:-2], _IAMAT, False, "partial"),  # the client time is cut: more may come
        # IAMAT-5 lenient: the numbers echoed through a float are the same echo, so the reply
        # is whole (a herd that also keeps the connection open costs the linger, not the timeout)
        (b"AT A +0.1 c +34.100000-118.2 1796313685.4999999", _IAMAT, False, "unterminated"),
        (b"AT A +0.1 c +34.1-118.2 1796313685.49", _IAMAT, False, "partial"),  # another time
        (b"AT A +0.1 d +34.1-118.2 1796313685.5", _IAMAT, False, "partial"),  # another client
        # A float round-trip that echo-numeric's reading does not take (an exponent for a huge
        # time; an invalid location the herd took): its content is all in; a prefix is not.
        (
            b"AT A -3.370156703690728e+18 c +34.1-118.2 3.370156705487127e+18",
            b"IAMAT c +34.1-118.2 3370156705487127100.589943453742\n",
            False,
            "unterminated",
        ),
        (
            b"AT A -3.370156703690728e+18 c +34.1-118.2 3.370156705487127e+1",
            b"IAMAT c +34.1-118.2 3370156705487127100.589943453742\n",
            False,
            "partial",
        ),
        (
            b"AT A +0.1 c 34.068930-118.445127 1796399162.388444",
            b"IAMAT c 34.068930-118.445127 1796399162.388443947\n",
            False,
            "unterminated",
        ),
        (
            b"AT A +0.1 c 34.068930-118.445127 1796399162.38844",
            b"IAMAT c 34.068930-118.445127 1796399162.388443947\n",
            False,
            "partial",
        ),
        (b"? " + _IAMAT[:-1], _IAMAT, False, "unterminated"),
        (b"? IAMAT c", _IAMAT, False, "partial"),
        (b"?\n", _WHATSAT, True, "complete"),
        (b"no such client\n", _WHATSAT, True, "complete"),  # not an AT line: a one-line reply
        # Neither '?' nor an AT line's start, left without its LF: nothing more will come.
        (b"ERROR: no such client", _WHATSAT, True, "unterminated"),
        (b"Invalid command", _IAMAT, False, "unterminated"),
        (b"ATTENTION", _WHATSAT, True, "unterminated"),
        (b"A", _WHATSAT, True, "partial"),
        (b" AT", _IAMAT, False, "partial"),
        (b"AT A +0.1", _WHATSAT, True, "partial"),
        (b"? WHATSAT c 10 1", _WHATSAT, True, "unterminated"),
        (_AT + b"\n{\n}\n", _WHATSAT, True, "unterminated"),  # no empty line: whatsat-reply's business
        (_AT + b"\n{\n", _WHATSAT, True, "partial"),
        (_AT + b"\n{\n}\n\n", _WHATSAT, True, "complete"),
        (_AT + b"\n", _WHATSAT, True, "partial"),
        # A whole reply, then a stray line the herd never ends (its '?' for the EOF it read):
        # the reply is in, and only the linger is waited for what else follows.
        (b"? HELLO\n? ", b"HELLO\n", False, "unterminated"),
        (_AT + b"\n? ", _IAMAT, False, "unterminated"),
        (_AT + b"\n{\n}\n\n? ", _WHATSAT, True, "unterminated"),
        (_AT + b"\n{\n}\n? ", _WHATSAT, True, "partial"),
    ],
)
def test_reply_state_tells_a_whole_reply_from_a_cut_one(
    data: bytes, request_line: bytes, whatsat: bool, state: str
) -> None:
    assert reply_state(data, request_line, whatsat=whatsat) == state


@pytest.fixture
def scripted_server() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """A one-connection loopback server running ``script(connection)``; yields a starter."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(script: Callable[[socket.socket], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            connection, _ = listener.accept()
            with connection:
                script(connection)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for thread in threads:
        thread.join(5)
    for listener in listeners:
        listener.close()


def _read_to_eof(connection: socket.socket) -> bytes:
    data = b""
    while chunk := connection.recv(4096):
        data += chunk
    return data


def test_exchange_half_closes_and_reads_to_eof(scripted_server) -> None:
    def echo_upper(connection: socket.socket) -> None:
        connection.sendall(_read_to_eof(connection).upper())

    port = scripted_server(echo_upper)
    transcript = Transcript()
    reply = exchange("127.0.0.1", port, b"abc\n", transcript=transcript, server="S", timeout_s=2)
    assert reply.data == b"ABC\n"
    assert reply.closed
    assert reply.error is None
    rendered = transcript.render()
    assert "S > b'abc\\n'" in rendered[0]
    assert "S: half-closed by the client" in rendered[1]
    assert "S < b'ABC\\n'" in rendered[2]


def test_exchange_reports_silence_at_the_deadline(scripted_server) -> None:
    finished = threading.Event()
    port = scripted_server(lambda connection: finished.wait(5))
    reply = exchange("127.0.0.1", port, b"x\n", timeout_s=0.2)
    finished.set()
    assert reply.data == b""
    assert not reply.closed


def test_exchange_reports_a_refused_connection() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    reply = exchange("127.0.0.1", port, b"x\n", timeout_s=1)
    assert reply.error is not None and "ConnectionRefused" in reply.error


def test_line_session_reads_replies_one_at_a_time(scripted_server) -> None:
    def two_replies(connection: socket.socket) -> None:
        connection.recv(100)
        connection.sendall(b"AT one\nAT two\n")
        connection.sendall(b"AT x\n{\n}\n\n")

    port = scripted_server(two_replies)
    with LineSession("127.0.0.1", port, timeout_s=2) as session:
        session.send(b"go\n")
        assert session.read_reply() == b"AT one\n"
        assert session.read_reply() == b"AT two\n"
        assert session.read_reply(whatsat=True) == b"AT x\n{\n}\n\n"
        assert session.read_reply(timeout_s=0.1) is None


def test_a_long_transcript_keeps_its_ends() -> None:
    transcript = Transcript()
    for index in range(1000):
        transcript.add("S", "send", b"%d" % index)
    lines = transcript.render(keep=5)
    assert len(lines) == 11
    assert lines[0].endswith("S > b'0'") and lines[-1].endswith("S > b'999'")
    assert "990 entries left out" in lines[5]


def test_a_reply_wait_cut_by_the_check_budget_is_budget_spent_not_silence(scripted_server) -> None:
    # sophiasharif/CS131: flood-pairs sent a WHATSAT 0.05 s before its 20 s budget ran out and
    # failed WHATSAT-4 "Clark answered a WHATSAT with nothing within 5 s".
    finished = threading.Event()
    port = scripted_server(lambda connection: finished.wait(5))
    target = Target(config=parse_config(f"[servers]\nA = {{ port = {port} }}\n"), check_budget_s=0.2)
    context = CheckContext(target, "budget")
    with pytest.raises(BudgetSpent):
        context.send("A", b"WHATSAT c 10 1\n", whatsat=True)
    finished.set()


def _reply_then_hold_open(replies: list[bytes], finished: threading.Event) -> Callable[[socket.socket], None]:
    """A server that reads the command, writes each of ``replies`` at once and keeps its side open."""

    def script(connection: socket.socket) -> None:
        connection.recv(4096)
        for reply in replies:
            connection.sendall(reply)
        finished.wait(10)

    return script


def test_exchange_ends_a_whole_reply_on_a_connection_left_open(scripted_server) -> None:
    # a student herd never closes: each exchange waited out the timeout.
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([_AT + b"\n"], finished))
    transcript = Transcript()
    reply = exchange("127.0.0.1", port, _IAMAT, transcript=transcript, timeout_s=30, linger_s=0.2)
    finished.set()
    assert reply.data == _AT + b"\n"
    assert reply.complete and not reply.closed
    assert "reply complete" in transcript.render()[-1]


def test_exchange_still_reads_what_follows_a_reply_at_once(scripted_server) -> None:
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([_AT + b"\n", b"debug: done\n"], finished))
    reply = exchange("127.0.0.1", port, _IAMAT, timeout_s=30, linger_s=2)
    finished.set()
    assert reply.data == _AT + b"\ndebug: done\n"
    assert reply.complete


def test_exchange_takes_an_error_reply_without_its_lf_on_a_kept_open_connection(scripted_server) -> None:
    # a student herd: '? <line>' with no LF, the connection kept open.
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([b"? WHATSAT c 10 1"], finished))
    reply = exchange(
        "127.0.0.1", port, _WHATSAT, half_close=False, until_complete=True, timeout_s=30, linger_s=0.2
    )
    finished.set()
    assert reply.data == b"? WHATSAT c 10 1"
    assert reply.complete


def test_exchange_with_no_linger_ends_a_whole_reply_at_once_but_reads_a_cut_one_on(scripted_server) -> None:
    # A herd whose replies end in no final LF on a connection it keeps open (the dialect step
    # saw it): a reply whose content is all in is taken at once, with no linger; one cut short
    # (the client time half-written) is still read to its end.
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([_AT], finished))
    started = time.monotonic()
    reply = exchange("127.0.0.1", port, _IAMAT, timeout_s=30, linger_s=0.0)
    assert reply.data == _AT and reply.complete and not reply.closed
    assert time.monotonic() - started < 5
    finished.set()
    cut = threading.Event()
    port = scripted_server(_reply_then_hold_open([_AT[:-2], _AT[-2:]], cut))
    reply = exchange("127.0.0.1", port, _IAMAT, timeout_s=30, linger_s=0.0)
    cut.set()
    assert reply.data == _AT and reply.complete


def test_exchange_takes_an_error_reply_at_once_with_no_error_linger(scripted_server) -> None:
    # A herd already seen to leave the LF off its '?' replies: the next whole '?' copy is taken
    # with no linger, while an AT reply still gets the linger it is given.
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([b"? IAMAT c +34.1-118.2 never"], finished))
    started = time.monotonic()
    bad = b"IAMAT c +34.1-118.2 never\n"
    reply = exchange("127.0.0.1", port, bad, timeout_s=30, linger_s=20, error_linger_s=0.0)
    assert reply.data == b"? IAMAT c +34.1-118.2 never" and reply.complete
    assert time.monotonic() - started < 10
    finished.set()


def test_exchange_without_linger_waits_for_the_deadline(scripted_server) -> None:
    finished = threading.Event()
    port = scripted_server(_reply_then_hold_open([_AT + b"\n"], finished))
    reply = exchange("127.0.0.1", port, _IAMAT, timeout_s=0.3)
    finished.set()
    assert reply.data == _AT + b"\n"
    assert not reply.complete and not reply.closed


def test_line_session_takes_a_whatsat_answer_without_its_empty_line(scripted_server) -> None:
    finished = threading.Event()
    answer = _AT + b"\n{\n}\n"
    port = scripted_server(_reply_then_hold_open([answer], finished))
    with LineSession("127.0.0.1", port, timeout_s=30) as session:
        session.send(_WHATSAT)
        reply = session.read_reply(whatsat=True, request=_WHATSAT, linger_s=0.2)
    finished.set()
    assert reply == answer


_AT_LINE = b"AT A +0.1 c +34.1-118.2 1796313685.5\n"


@pytest.mark.parametrize(
    ("half_closed", "closed", "kept_open", "cut"),
    [
        # FRAME-4: the AT line, then EOF; kept open, the JSON and the empty line follow it.
        (_AT_LINE, True, _AT_LINE + b"{}\n\n", True),
        (_AT_LINE.replace(b"\n", b"\r\n"), True, _AT_LINE + b"{}\n\n", True),
        (_AT_LINE, False, _AT_LINE + b"{}\n\n", False),  # not closed: not known to be cut
        (_AT_LINE, True, _AT_LINE, False),  # the same lone AT line either way: WHATSAT-5's
        (_AT_LINE + b"{}\n\n", True, _AT_LINE + b"{}\n\n", False),  # whole on half-close
        (b"", True, _AT_LINE + b"{}\n\n", False),  # nothing at all: the 'lost' case
    ],
)
def test_a_whatsat_cut_after_its_at_line_on_half_close_is_told_apart(
    half_closed: bytes, closed: bool, kept_open: bytes, cut: bool
) -> None:
    assert _cut_on_half_close(half_closed, closed, kept_open) is cut


@pytest.mark.parametrize(
    ("data", "request_line", "unglued"),
    [
        # A reply without its LF, then the herd's '?' for the EOF it read, glued to it.
        (_AT + b"?", _IAMAT, _AT),
        (_AT + b"?\n", _IAMAT, _AT + b"\n"),  # the LF the dialect put at the end is kept
        (b"? HELLO?", b"HELLO\n", b"? HELLO"),
        # A '?' that belongs to the reply, or a reply that is wrong without it, stays.
        (b"? HELLO?", b"HELLO?\n", None),
        (_AT, _IAMAT, None),
        (_AT[:-1] + b"?", _IAMAT, None),  # the echoed time is cut short: not mended
        (b"?", _IAMAT, None),
        (_AT + b"\n?", _IAMAT, None),  # a stray line of its own: not glued
    ],
)
def test_a_stray_error_glued_to_an_unterminated_reply_comes_off(
    data: bytes, request_line: bytes, unglued: bytes | None
) -> None:
    assert without_glued_stray_error(data, request_line, whatsat=False) == unglued


def test_the_dialect_step_asks_for_the_client_whose_iamat_was_answered() -> None:
    # Each IAMAT probe reports a client of its own (two reports of one client are a record
    # changed twice: a storm in a herd that relays any line that differs from the one it holds).
    clients = [b"hv1.dialect.1", b"hv1.dialect.2", b"hv1.dialect.3"]
    probe = CommandProbe()
    assert _reported_client(probe, clients) == clients[0]  # nothing answered: the first
    probe.kept_open_reply, probe.kept_open_answered = b"AT A +0.1 hv1.dialect.2 +1+1 5\n", True
    assert _reported_client(probe, clients) == clients[1]
    probe.half_close_reply, probe.half_close_answered = b"AT A +0.1 hv1.dialect.1 +1+1 5\n", True
    assert _reported_client(probe, clients) == clients[0]
    # Whichever field the herd put the client in.
    probe.half_close_reply = b"AT +0.1 A +1+1 5 hv1.dialect.1\n"
    assert _reported_client(probe, clients) == clients[0]


def test_lines_written_to_a_crlf_only_herd_end_in_cr_lf_once() -> None:
    assert crlf_lines(b"IAMAT a +1+1 5\n") == b"IAMAT a +1+1 5\r\n"
    # A line already ended by CR LF keeps one CR; blank lines and the last unended line stay so.
    assert (
        crlf_lines(b"\n \r\nIAMAT a +1+1 5\r\nWHATSAT a 10 1") == b"\r\n \r\nIAMAT a +1+1 5\r\nWHATSAT a 10 1"
    )


def test_a_question_mark_reply_in_words_of_its_own_is_taken_as_whole() -> None:
    # A student herd answered "? 'Incorrect number of parameters'" with no LF and kept the
    # connection open: octets that no longer begin the copy will not become it, so only the
    # linger is waited for, not the whole reply timeout.
    request = b"IAMAT c +34.1-118.2\n"
    assert reply_state(b"? 'Incorrect number of parameters'", request, whatsat=False) == "unterminated"
    # The beginning of the copy may still grow into it (white space squeezed, as ERR-1 lenient
    # reads it); a whole copy with more after it is the glued-'?' case.
    assert reply_state(b"? IAMAT c +34", request, whatsat=False) == "partial"
    assert reply_state(b"?  IAMAT  c", request, whatsat=False) == "partial"
    assert reply_state(b"? IAMAT c +34.1-118.2", request, whatsat=False) == "unterminated"
