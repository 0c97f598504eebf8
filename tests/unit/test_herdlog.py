"""HerdLog: every recorded line reaches the file in order, off the event loop, and a disk that
falls behind costs dropped lines (counted in the log), never unbounded memory (LIMIT-5)."""

from __future__ import annotations

import asyncio
import errno
import re
import threading
import time
from collections.abc import Callable
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


def test_exchange_stamps_are_the_microsecond_of_their_time(tmp_path: Path) -> None:
    # The stamp's millisecond and second are formatted once and reused: across a millisecond,
    # a second, and a clock that steps back, every stamp must still read as %d.%06d of the
    # time given (truncated to the microsecond).
    second = 1_700_000_000_000_000_000
    times = [
        second + 999_999_999,
        second + 999_999_000,
        second + 1_000_000_000,  # the next second
        second + 1_000_000_999,
        second + 1_000_001_000,  # the next millisecond
        second + 1_000_998_500,
        second + 1_001_000_000,
        second + 1_000_000_000,  # back a millisecond
        second - 1,  # back a second
        5_000,  # near the epoch
        second + 999_999_999,
    ]
    log = HerdLog(tmp_path / "Solo.log", flush_interval_s=3600)
    for now_ns in times:
        log.record_exchange(b"127.0.0.1:9", b"IAMAT c +1+2 3", b"AT S +0.1 c +1+2 3\n", now_ns)
    log.close()
    lines = (tmp_path / "Solo.log").read_bytes().splitlines()
    expected = [b"%d.%06d" % divmod(now_ns // 1000, 1_000_000) for now_ns in times]
    assert [line.split(b" ", 1)[0] for line in lines[0::2]] == expected
    assert [line.split(b" ", 1)[0] for line in lines[1::2]] == expected
    assert lines[0].split(b" ", 1)[1] == b"IN 127.0.0.1:9 IAMAT c +1+2 3"
    assert lines[1].split(b" ", 1)[1] == b"OUT 127.0.0.1:9 AT S +0.1 c +1+2 3"


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


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 5.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"not true within {deadline_s} s: {what}"
        time.sleep(0.005)


def test_the_writer_survives_a_failing_disk_and_reports_the_lost_lines(tmp_path: Path) -> None:
    log = HerdLog(tmp_path / "Solo.log", flush_interval_s=0.005)
    file = log._file
    assert file is not None
    raw = file.raw  # type: ignore[attr-defined]

    def full_disk(data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    raw.write = full_disk  # this file refuses every write, as a full disk does
    for number in range(10):
        log.record(b"IN", b"-", b"lost %d" % number)
    wait_for(lambda: log.lost_lines == 10, "the writer counted the 10 lost lines")
    thread = log._thread
    assert thread is not None and thread.is_alive()
    for number in range(5):
        log.record(b"IN", b"-", b"kept %d" % number)  # the disk has room again (a new file)
    log.close()
    lines = (tmp_path / "Solo.log").read_bytes().splitlines()
    assert [line.split(b" ", 3)[3] for line in lines if b" IN " in line] == [b"kept %d" % n for n in range(5)]
    # LIMIT-5: the count of what was lost is written once the disk takes writes again.
    assert any(line.endswith(b"LOG - 10 lines lost: the disk refused them") for line in lines)


def test_a_log_file_is_rotated_at_its_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "Solo.log"
    log = HerdLog(path, flush_interval_s=3600, max_file_bytes=10_000)
    text = b"r" * 80
    for _ in range(1000):  # about 100 kB of log
        log.record(b"IN", b"-", text)
    log.close()
    previous = path.with_name("Solo.log.1")
    assert path.stat().st_size <= 10_000 and previous.stat().st_size <= 10_000
    assert sorted(path.parent.iterdir()) == [path, previous]  # one older file is kept, no more
    # What is kept is the newest lines, whole and in order, and the current file is not empty.
    kept = previous.read_bytes().splitlines() + path.read_bytes().splitlines()
    assert kept and all(LINE.fullmatch(line) for line in kept)
    assert len(path.read_bytes()) > 0


async def test_aclose_does_not_block_the_event_loop(tmp_path: Path) -> None:
    log = HerdLog(tmp_path / "Solo.log", flush_interval_s=3600)
    file = log._file
    assert file is not None
    raw = file.raw  # type: ignore[attr-defined]
    release = threading.Event()
    real_write = raw.write

    def slow_write(data: bytes) -> int:
        release.wait(5)  # a disk that takes its time
        written: int = real_write(data)
        return written

    raw.write = slow_write
    log.record(b"IN", b"-", b"x" * 2_000_000)  # more than the file's buffer: one raw write
    closing = asyncio.get_running_loop().create_task(log.aclose())
    # The loop keeps running while the writer waits on the disk: this callback gets its turn.
    await asyncio.sleep(0.01)
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 5)
    assert (tmp_path / "Solo.log").read_bytes().endswith(b"x" * 2_000_000 + b"\n")
