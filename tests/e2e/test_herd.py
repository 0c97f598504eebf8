"""The reference herd end to end: real ``herdref serve`` processes on loopback."""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from herdref.checker.ports import port_open
from herdref.model import components
from herdref.protocol import parse_line

from .herd_harness import (
    NAMES_OF_DEFAULT_HERD,
    Herd,
    exchange,
    running_herd,
    wait_until,
    write_herd_file,
)

NAMES = NAMES_OF_DEFAULT_HERD


def components_without(dead: set[str], links: list[tuple[str, str]]) -> list[set[str]]:
    return [set(part) for part in components([name for name in NAMES if name not in dead], links)]


@pytest.fixture(params=["persistent", "ephemeral"])
def herd(request: pytest.FixtureRequest, tmp_path: Path):
    with running_herd(write_herd_file(tmp_path, mode=request.param)) as herd:
        yield herd


def test_iamat_reply_echoes_the_client_strings_byte_for_byte(herd: Herd) -> None:
    client = "k\xc3\xbcwi\xc2\xa0\xff.example".encode("latin-1")  # UTF-8, NBSP and an invalid octet
    location = b"+34.068930-118.445127"
    client_time = b"%d.%09d000" % divmod(time.time_ns(), 1_000_000_000)  # 12 fractional digits
    before = Decimal(time.time_ns()) / 10**9
    reply = herd.send("Clark", b"IAMAT \t" + client + b"  " + location + b"\v" + client_time + b"\r\n")
    after = Decimal(time.time_ns()) / 10**9
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    fields = reply[:-1].split(b" ")
    assert fields[0] == b"AT" and fields[1] == b"Clark"
    assert fields[3:] == [client, location, client_time]
    assert fields[2][:1] == b"+" and len(fields[2].split(b".")[1]) == 9
    skew = Decimal(fields[2].decode())
    sent = Decimal(client_time.decode())
    assert before - sent - Decimal("0.001") <= skew <= after - sent + Decimal("0.001")


def test_many_commands_on_one_connection_are_answered_in_order(herd: Herd) -> None:
    now = f"{time.time():.9f}".encode()
    replies = herd.send(
        "Bona",
        b"IAMAT a +1+2 "
        + now
        + b"\nWHATSAT a 5 2\nnonsense here\n\n   \nWHATSAT nobody 5 2\nIAMAT b +3+4 "
        + now,
    )
    lines = replies.split(b"\n")
    assert lines[0].startswith(b"AT Bona ") and lines[0].endswith(b" a +1+2 " + now)
    assert lines[1] == lines[0]  # WHATSAT-5: the stored AT line first
    json_end = replies.index(b"\n\n")
    rest = replies[json_end + 2 :].split(b"\n")
    assert rest[0] == b"? nonsense here"
    assert rest[1] == b"? WHATSAT nobody 5 2"
    assert rest[2].startswith(b"AT Bona ") and rest[2].endswith(b" b +3+4 " + now)  # FRAME-2
    assert rest[3:] == [b""]


def test_flooding_reaches_all_five_servers_with_the_same_line(herd: Herd) -> None:
    at_line = herd.iamat("Clark", "kiwi.cs.ucla.edu")
    for name in NAMES:
        herd.wait_for_record(name, "kiwi.cs.ucla.edu", at_line)


def test_the_seed_papers_scenario(herd: Herd) -> None:
    # An IAMAT at one server reaches the rest.
    first = herd.iamat("Bailey", "phone")
    for name in NAMES:
        herd.wait_for_record(name, "phone", first)
    # Kill a second server: a newer IAMAT still reaches every survivor.
    herd.kill("Bona")
    second = herd.iamat("Bailey", "phone", "+10.5-20.25")
    for name in ("Campbell", "Clark", "Jaquez"):
        herd.wait_for_record(name, "phone", second)
    # Kill Campbell too: Bailey is cut off, so an IAMAT there stays there.
    herd.kill("Campbell")
    third = herd.iamat("Bailey", "phone", "+11-21")
    assert herd.stored_at_line("Bailey", "phone") == third
    assert herd.stored_at_line("Clark", "phone") == second
    assert herd.stored_at_line("Jaquez", "phone") == second
    # WHATSAT at another server answers with its record and Places JSON.
    reply = herd.send("Jaquez", b"WHATSAT phone 10 3\n")
    head, body = reply.split(b"\n", 1)
    assert head == second
    assert body.endswith(b"\n\n") and b"\n\n" not in body[:-2]


def test_every_pair_of_killed_servers_leaves_the_survivors_consistent_where_connected(tmp_path: Path) -> None:
    with running_herd(write_herd_file(tmp_path, mode="ephemeral")) as herd:
        from .herd_harness import LINKS_OF_DEFAULT_HERD

        split_cases = 0
        for case, dead in enumerate(itertools.combinations(NAMES, 2)):
            for name in dead:
                herd.kill(name)
            groups = components_without(set(dead), LINKS_OF_DEFAULT_HERD)
            split_cases += len(groups) > 1
            for index, group in enumerate(groups):
                origin = sorted(group)[0]
                client = f"case{case}-group{index}"
                at_line = herd.iamat(origin, client)
                for name in group:
                    herd.wait_for_record(name, client, at_line)
            for index, group in enumerate(groups):
                client = f"case{case}-group{index}"
                for other in groups:
                    if other is not group:
                        for name in other:
                            assert herd.stored_at_line(name, client) is None, (dead, name, client)
            for name in dead:
                herd.start(name)
        # The course's topology splits the survivors in exactly 3 of the 10 cases.
        assert split_cases == 3


def test_a_restarted_server_catches_up_with_records_made_while_it_was_down(herd: Herd) -> None:
    before = herd.iamat("Clark", "old-news")
    herd.wait_for_record("Bailey", "old-news", before)
    herd.kill("Bailey")
    during = herd.iamat("Clark", "while-down")
    herd.wait_for_record("Campbell", "while-down", during)
    herd.start("Bailey")
    herd.wait_for_record("Bailey", "while-down", during)
    if herd.config.link_mode == "persistent":
        # CATCHUP-1: on reconnection the whole table goes across, old records included.
        herd.wait_for_record("Bailey", "old-news", before)


def test_a_restarted_server_receives_floods_right_after_its_listener_opens(herd: Herd) -> None:
    herd.kill("Jaquez")
    herd.start("Jaquez")
    at_line = herd.iamat("Clark", "fresh")
    elapsed = herd.wait_for_record("Jaquez", "fresh", at_line, deadline_s=2.0)
    print(f"flood reached the restarted server {elapsed * 1000:.1f} ms after the IAMAT reply")


def test_a_stopped_neighbour_does_not_delay_replies_or_other_floods(herd: Herd) -> None:
    herd.pause("Bona")
    try:
        for index in range(50):
            at_line = herd.iamat("Clark", f"busy-{index}", when=f"{time.time():.9f}")
        herd.wait_for_record("Jaquez", "busy-49", at_line)
        herd.wait_for_record("Bailey", "busy-49", at_line)  # via Jaquez and Campbell
    finally:
        herd.resume("Bona")
    herd.wait_for_record("Bona", "busy-49", at_line)


def test_sigterm_stops_a_server_promptly_with_its_log_flushed(herd: Herd) -> None:
    herd.iamat("Bona", "logged-client")
    process = herd.processes["Bona"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0
    log = (herd.config.log_dir / "Bona.log").read_bytes()
    assert b"IN " in log and b"logged-client" in log and b"STOP" in log


@pytest.mark.skipif(shutil.which("lsof") is None, reason="lsof is not installed")
@pytest.mark.parametrize(
    ("mode", "peer_ports"), [("ephemeral", False), ("ephemeral", True), ("persistent", True)]
)
def test_graders_lsof_kill_spares_the_neighbours(tmp_path: Path, mode: str, peer_ports: bool) -> None:
    # LINK-1: with ephemeral links no connection outlives a flood; with peer ports no link
    # touches a client port at all, so persistent links are safe from the graders' kill too.
    with running_herd(write_herd_file(tmp_path, mode=mode, peer_ports=peer_ports)) as herd:
        at_line = herd.iamat("Campbell", "before-kill")
        for name in ("Bailey", "Bona", "Clark", "Jaquez"):
            herd.wait_for_record(name, "before-kill", at_line)  # every link has been used
        port = herd.config.servers["Campbell"].port
        subprocess.run(f"lsof -ti:{port} | xargs kill", shell=True, check=True)
        wait_until(lambda: "Campbell" not in herd.alive(), what="Campbell stopped")
        assert sorted(herd.alive()) == ["Bailey", "Bona", "Clark", "Jaquez"]
        # The survivors keep flooding, over and over (the links of persistent mode stay up).
        for round_number in range(3):
            for origin in ("Bailey", "Jaquez"):
                at_line = herd.iamat(origin, f"after-kill-{round_number}")
                for name in ("Bailey", "Bona", "Clark", "Jaquez"):
                    herd.wait_for_record(name, f"after-kill-{round_number}", at_line)
        assert sorted(herd.alive()) == ["Bailey", "Bona", "Clark", "Jaquez"]


def test_herd_command_runs_the_herd_and_send_talks_to_it(tmp_path: Path) -> None:
    config = write_herd_file(tmp_path)
    herd = subprocess.Popen(
        [sys.executable, "-m", "herdref", "herd", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert herd.stdout is not None
        banner = [herd.stdout.readline() for _ in range(6)]
        assert banner[0].startswith(b"herd of 5 servers"), banner
        port = Herd(config).config.servers["Clark"].port
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "herdref",
                "send",
                f"127.0.0.1:{port}",
                "IAMAT c1 +1-2 1700000000.5",
                "WHATSAT c1 2 1",
            ],
            capture_output=True,
            check=True,
            timeout=10,
        )
        lines = sent.stdout.split(b"\n")
        assert lines[0].startswith(b"AT Clark ")
        assert lines[1] == lines[0]  # WHATSAT-5: the stored AT line
        assert parse_line(lines[0]) is not None
        assert lines[-3].strip() and lines[-2:] == [b"", b""]
    finally:
        herd.send_signal(signal.SIGINT)
        assert herd.wait(10) == 0
        if herd.stdout:
            herd.stdout.close()
        if herd.stderr:
            herd.stderr.close()
    for address in Herd(config).config.servers.values():
        assert not port_open(address.host, address.port)


def test_bad_command_lines_get_one_stderr_line_and_exit_status(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[servers]\nA = { port = 1 }\n[links]\npairs = [["A", "Nobody"]]\n')
    result = subprocess.run(
        [sys.executable, "-m", "herdref", "serve", "A", "--config", str(broken)],
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and "Nobody" in result.stderr.decode()
    result = subprocess.run(
        [sys.executable, "-m", "herdref", "send", "nowhere", "x"], capture_output=True, timeout=10
    )
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1


def test_an_unknown_command_is_echoed_after_a_question_mark(herd: Herd) -> None:
    address = herd.config.servers["Clark"]
    assert exchange(address.host, address.port, b"HELLO\n") == b"? HELLO\n"
