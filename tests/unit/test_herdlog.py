"""HerdLog: every recorded line reaches the file in order, off the event loop, and a disk that
falls behind costs dropped lines (counted in the log), never unbounded memory (LIMIT-5)."""

from __future__ import annotations

import re
from pathlib import Path

from herdref.herd.log import HerdLog

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


def test_a_backlog_is_written_in_bounded_chunks_never_joined_whole(tmp_path: Path) -> None:
    # Nothing is taken before close(), so 4 MiB of lines wait for one pass of the writer.
    log = HerdLog(tmp_path / "Solo.log", flush_interval_s=3600, max_buffered_bytes=8 * 1024 * 1024)
    text = b"z" * 1000
    for _ in range(4096):
        log.record(b"IN", b"-", text)
    file = log._file
    assert file is not None
    raw = file.raw  # type: ignore[attr-defined]
    writes: list[int] = []
    real_write = raw.write

    def counting_write(data: bytes) -> int:
        writes.append(len(data))
        written: int = real_write(data)
        return written

    raw.write = counting_write
    log.close()
    lines = (tmp_path / "Solo.log").read_bytes().splitlines()
    assert len(lines) == 4096 and all(line.endswith(b" IN - " + text) for line in lines)
    # LIMIT-5: the disk sees buffer-fulls of at most 1 MiB, never the 4 MiB backlog in one piece.
    assert len(writes) >= 4 and max(writes) <= 1024 * 1024
