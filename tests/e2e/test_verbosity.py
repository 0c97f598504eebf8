"""``-q`` and ``-v`` mean the same in every subcommand (``herdref.tools.cli``): ``-q`` leaves the
results and the errors only (no progress, no banner), ``-v`` also logs what happens on stderr.

Each subcommand runs as a user would run it, three ways: plain, ``-q`` and ``-v``.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from herdref.checker.ports import port_open
from herdref.herd.config import load_config
from tests.e2e.herd_harness import exchange, running_herd, wait_until, write_herd_file

BAD_HERDS = Path(__file__).parent / "bad_herds"
#: A line of the log -v turns on (herdref.tools.cli's format: date, time, who, level, message).
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ INFO ", re.MULTILINE)
WAYS = ("plain", "-q", "-v")


def herdref(*arguments: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herdref", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _flag(way: str) -> list[str]:
    return [] if way == "plain" else [way]


@dataclass
class Running:
    stdout: Path
    stderr: Path

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")


@contextmanager
def running(directory: Path, *arguments: str) -> Iterator[Running]:
    """A long-running subcommand with its output in files; SIGTERM (what Ctrl-C does) at the end."""
    directory.mkdir(parents=True, exist_ok=True)
    seen = Running(directory / "stdout", directory / "stderr")
    with seen.stdout.open("wb") as stdout, seen.stderr.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "herdref", *arguments],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield seen
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def _logged(text: str) -> bool:
    return LOG_LINE.search(text) is not None


def _assert_quiet_and_verbose(
    outputs: dict[str, tuple[str, str]], *, banner: str, result: Callable[[str], bool]
) -> None:
    """The shared rule over (stdout, stderr) of the three ways: every way gives the result;
    the banner or progress shows plain and -v but not -q; log lines only with -v."""
    for way, (out, err) in outputs.items():
        assert result(out), (way, out, err)
        assert (banner in out + err) == (way != "-q"), (way, out, err)
        assert _logged(err) == (way == "-v"), (way, err)


def test_send(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path, names=["Bailey"], links=[])
    address = load_config(herd_file).servers["Bailey"]
    outputs = {}
    with running_herd(herd_file):
        for way in WAYS:
            done = herdref("send", f"{address.host}:{address.port}", "IAMAT kiwi +34-118 1.0", *_flag(way))
            assert done.returncode == 0, done.stderr
            outputs[way] = (done.stdout, done.stderr)
    # send has no banner: -q changes nothing; its result is the reply.
    for way, (out, err) in outputs.items():
        assert out.startswith("AT Bailey ") and out.endswith(" kiwi +34-118 1.0\n"), (way, out)
        assert _logged(err) == (way == "-v"), (way, err)
        assert (err == "") == (way != "-v"), (way, err)
    assert "sending 1 lines" in outputs["-v"][1] and "closed after" in outputs["-v"][1]


def test_bench(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path, names=["Bailey", "Bona"], links=[("Bailey", "Bona")])
    outputs = {}
    with running_herd(herd_file):
        for way in WAYS:
            done = herdref(
                "bench", "--config", str(herd_file), "--duration", "0.5", "--connections", "2",
                "--workers", "1", "--no-probe", "--progress", *_flag(way),
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            outputs[way] = (done.stdout, done.stderr)
    # --progress asks for the live line; -q still leaves only the report.
    _assert_quiet_and_verbose(outputs, banner=" replies ", result=lambda out: "requests" in out)
    assert "load: 2 connections" in outputs["-v"][1]


def test_places_fixture(tmp_path: Path) -> None:
    outputs = {}
    for way in WAYS:
        with running(tmp_path / way, "places-fixture", "--port", "0", *_flag(way)) as fixture:
            wait_until(lambda: "listening on http://" in fixture.out(), what="the fixture's first line")
            base_url = fixture.out().split("listening on ", 1)[1].split()[0]
            with urllib.request.urlopen(base_url + "/", timeout=10) as answer:
                assert answer.status == 200
            if way == "-v":  # the access log line is written after the answer
                wait_until(lambda: "GET / " in fixture.err(), what="the access log line")
        outputs[way] = (fixture.out(), fixture.err())
    # The first line (where it listens) is the result: scripts wait for it; the endpoints list
    # is for a person at a terminal.
    _assert_quiet_and_verbose(
        outputs, banner="/maps/api/place/nearbysearch/json", result=lambda out: "listening on http://" in out
    )
    assert outputs["-q"][0].count("\n") == 1


@pytest.mark.parametrize("command", ["serve", "herd"])
def test_serve_and_herd(tmp_path: Path, command: str) -> None:
    herd_file = write_herd_file(tmp_path, names=["Bailey", "Bona"], links=[("Bailey", "Bona")])
    config = load_config(herd_file)
    arguments = ["serve", "Bailey"] if command == "serve" else ["herd"]
    names = ["Bailey"] if command == "serve" else list(config.servers)
    banner = "listening on" if command == "serve" else "Ctrl-C stops it"
    outputs = {}
    for way in WAYS:
        with running(tmp_path / way, *arguments, "--config", str(herd_file), *_flag(way)) as herd:
            for name in names:
                address = config.servers[name]
                wait_until(lambda address=address: port_open(address.host, address.port), what=name)
            # One record flooded over the link: something for -v to log.
            first = config.servers[names[0]]
            assert exchange(first.host, first.port, b"IAMAT kiwi +34-118 1.0\n").startswith(b"AT ")
            if way != "-q":  # printed once every server listens
                wait_until(lambda: banner in herd.out(), what="the banner")
            if way == "-v":
                wait_until(lambda: _logged(herd.err()), what="a log line")
        outputs[way] = (herd.out(), herd.err())
    _assert_quiet_and_verbose(outputs, banner=banner, result=lambda out: True)
    if command == "herd":
        # One banner: the herd's servers never print their own (with -v they only log).
        assert "listening on" not in outputs["-v"][0]


def test_validate(tmp_path: Path) -> None:
    outputs = {}
    for way in WAYS:
        done = herdref(
            "validate", "--quick", "--timeout", "2", "--startup", "15", "--only", "dialect", *_flag(way)
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs[way] = (done.stdout, done.stderr)
    # The summary on stdout is the result; the live progress on stderr is not.
    _assert_quiet_and_verbose(
        outputs, banner="  ... dialect", result=lambda out: "PASS        dialect" in out
    )
    assert "started Bailey" in outputs["-v"][1]


def test_grade(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(BAD_HERDS / "_base.py", submission / "server.py")
    shutil.copy(herd_file, submission / "herd.toml")
    outputs = {}
    for way in WAYS:
        out = tmp_path / f"out{way}"
        done = herdref(
            "grade", str(submission), "--single", "--no-netns", "--launch",
            f"{sys.executable} server.py {{name}}", "--config", str(herd_file), "--out", str(out),
            "--validate-options=--quick --timeout 2 --startup 15 --only dialect", *_flag(way),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert (out / "grades.csv").is_file()
        outputs[way] = (done.stdout, done.stderr)
    # grades.csv is the result; the per-submission progress lines are not.
    _assert_quiet_and_verbose(outputs, banner="[1/1] submission", result=lambda out: True)


def test_gradescope_bundle(tmp_path: Path) -> None:
    outputs = {}
    for way in WAYS:
        bundle = tmp_path / f"bundle{way}.zip"
        done = herdref("gradescope-bundle", "--preset", "default", "-o", str(bundle), *_flag(way))
        assert done.returncode == 0, done.stderr
        assert bundle.is_file()
        outputs[way] = (done.stdout, done.stderr)
    _assert_quiet_and_verbose(outputs, banner="wrote ", result=lambda out: True)
    assert "run_autograder" in outputs["-v"][1]
