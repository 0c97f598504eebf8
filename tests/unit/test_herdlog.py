"""HerdLog: every recorded line reaches the file in order, off the event loop, and a disk that
falls behind costs dropped lines (counted in the log), never unbounded memory (LIMIT-5)."""

from __future__ import annotations

import re
from pathlib import Path

from herdref.herdlog import HerdLog

LINE = re.compile(rb"\d+\.\d{6} (\S+) (\S+) (.*)")


def test_lines_arrive_in_order_with_their_fields(tmp_path: Path) -> None:
    log = HerdLog(tmp_path / "logs" / "Solo.log", flush_interval_s=0.01)
    for number in range(1000):
        log.record(b"IN", b"127.0.0.1:9", b"IAMAT c%d +1+2 3" % number)
    log.close()
    log.close()  # closing twice is harmless
    lines = (tmp_path / "logs" / "Solo.log").read_bytes().splitlines()
    assert len(lines) == 1000
    for number, line in enumerate(lines):
        match = LINE.fullmatch(line)
        assert match is not None, line
        assert match.groups() == (b"IN", b"127.0.0.1:9", b"IAMAT c%d +1+2 3" % number)


def test_a_disk_that_falls_behind_drops_and_counts_lines(tmp_path: Path) -> None:
    # A flush interval far longer than the test: nothing is taken before close().
    log = HerdLog(tmp_path / "Solo.log", flush_interval_s=3600, max_buffered_bytes=1000)
    for number in range(100):
        log.record(b"OUT", b"-", b"line %d" % number)
    log.close()
    lines = (tmp_path / "Solo.log").read_bytes().splitlines()
    kept = [line for line in lines if b" OUT " in line]
    assert 0 < len(kept) < 100
    assert sum(len(line) + 1 for line in kept[:-1]) <= 1000  # the bound held before the last line
    assert lines[-1].endswith(b"LOG - %d lines dropped: the disk fell behind" % (100 - len(kept)))


def test_no_path_means_no_file_and_no_thread(tmp_path: Path) -> None:
    log = HerdLog(None)
    log.record(b"IN", b"-", b"x")
    log.close()
    assert list(tmp_path.iterdir()) == []
