"""A kind of invalid line the herd left unanswered for the whole reply timeout is waited for
briefly from then on, with the evidence in the transcript (herdref.checker.silent_lines)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from herdref.checker.checks import CHECKS
from herdref.checker.runner import run_check
from herdref.checker.silent_lines import SilentLines, line_kind
from herdref.checker.target import Target
from herdref.herd.config import parse_config


def test_a_kind_is_the_line_without_its_client_id_and_valid_fields() -> None:
    never = b"IAMAT <id> <location> never"
    assert line_kind(b"IAMAT c1 +12-118 never\n") == never
    # White space and line ends are not part of it.
    assert line_kind(b"  IAMAT\tother  +34.1-118.25   never\r\n") == never
    assert line_kind(b"IAMAT c +12-118 1621464827.25\n") == b"IAMAT <id> <location> <time>"
    # What is invalid stays as written.
    assert line_kind(b"IAMAT c +91-118 1621464827\n") == b"IAMAT <id> +91-118 <time>"
    assert line_kind(b"WHATSAT a 10 21\n") == line_kind(b"WHATSAT b 10 21") == b"WHATSAT <id> 10 21"
    assert line_kind(b"WHATSAT a 10 21") != line_kind(b"WHATSAT a 10 5")
    assert line_kind(b"HELLO x\n") == b"HELLO <id>"
    assert line_kind(b"IAMAT\n") == b"IAMAT"


def test_the_first_silence_of_a_kind_is_the_one_kept() -> None:
    silent = SilentLines()
    assert silent.seen_silent(b"IAMAT a +1+1 never\n") is None
    silent.record(b"IAMAT a +1+1 never\n", check="frame-crlf", waited_s=5.0)
    silent.record(b"IAMAT b +2+2 never\n", check="invalid-time", waited_s=5.0)
    words = silent.seen_silent(b"IAMAT zz +3+3 never\r\n")
    assert words is not None and words.startswith("frame-crlf waited the whole 5 s")
    assert "b'IAMAT a +1+1 never'" in words
    assert silent.seen_silent(b"IAMAT a +1+1 1621464827\n") is None


class _SilentOnBadTimes(socketserver.StreamRequestHandler):
    """A herd whose handler dies on a time that is no number, and on a bound that is no
    integer, the connection left open (as a coroutine that raised leaves it); other lines are
    answered, then the connection closed."""

    def handle(self) -> None:
        line = self.rfile.readline()
        fields = line.split()
        if len(fields) == 4 and fields[0] == b"IAMAT":
            try:
                float(fields[3])
            except ValueError:
                _released.wait(30)  # open, and silent, until the test ends
                return
            self.wfile.write(b"AT A +0.1 %s %s %s\n" % (fields[1], fields[2], fields[3]))
        elif len(fields) == 4 and fields[0] == b"WHATSAT" and not fields[3].isdigit():
            _released.wait(30)  # a bound that is no integer: the same death
        elif fields:
            self.wfile.write(b"? " + line.rstrip(b"\r\n") + b"\n")


_released = threading.Event()


@pytest.fixture
def silent_herd() -> Iterator[int]:
    _released.clear()
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SilentOnBadTimes) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server.server_address[1]
        finally:
            _released.set()
            server.shutdown()


def test_a_later_check_waits_briefly_for_a_kind_left_silent(silent_herd: int) -> None:
    config = parse_config(f"[servers]\nA = {{ port = {silent_herd} }}\n")
    target = Target(config=config, timeout_s=2.0, replay_silence_s=0.3)
    by_name = {item.name: item for item in CHECKS}
    # frame-crlf: its CRLF 'never' line waits the whole timeout in silence; the same line
    # written plainly (is it refused at all?) is of the same kind, and waits briefly.
    crlf = run_check(target, by_name["frame-crlf"])
    assert crlf.verdict == "UNSUPPORTED", crlf.summary
    assert "frame-crlf waited the whole 2 s reply timeout in silence" in "\n".join(crlf.transcript)
    assert "this line of that kind is waited for 0.3 s" in "\n".join(crlf.transcript)
    # frame-no-final-newline's 'never' line ended by EOF is of that kind too: waited briefly,
    # and so is its plain copy; unanswered either way, it is left to invalid-time (LEX-6).
    eof_ended = run_check(target, by_name["frame-no-final-newline"])
    assert eof_ended.verdict == "UNSUPPORTED", eof_ended.summary
    transcript = "\n".join(eof_ended.transcript)
    assert transcript.count("frame-crlf waited the whole 2 s reply timeout in silence") == 2


def test_after_two_kinds_left_silent_a_new_kind_is_waited_for_briefly(silent_herd: int) -> None:
    config = parse_config(f"[servers]\nA = {{ port = {silent_herd} }}\n")
    target = Target(config=config, timeout_s=3.0, replay_silence_s=0.3)
    by_name = {item.name: item for item in CHECKS}
    run_check(target, by_name["frame-crlf"])  # 'never': one kind left unanswered in full
    run_check(target, by_name["invalid-time"])  # 'abc': the second
    outcome = run_check(target, by_name["invalid-bound"])  # '10 x', a new kind: waited briefly
    transcript = "\n".join(outcome.transcript)
    assert outcome.verdict == "FAIL", outcome.summary  # still named: no reply to it
    assert (
        "a new kind of invalid line is waited for 2 s: 2 kinds of invalid line were left unanswered "
        "for the whole reply timeout" in transcript
    )
