"""Faults injected into a running herd of real ``herdref serve`` processes: kill -9 and
restart, SIGSTOP of a neighbour during a flood, and clients that misbehave on the socket.

Each test prints the figure it measured (catch-up time, worst reply latency, memory); the
pass/fail conditions are the protocol's (records arrive, replies are right, memory is bounded),
with generous deadlines, never a timing goal.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from .herd_harness import Herd, exchange, running_herd, wait_until, write_herd_file
from .test_limits import MIB, Flooder, memory_kib, read_until_closed, reset_peak_memory

NAMES = ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
#: LINK-2 and CATCHUP-1 promise a restarted server its records well within this.
CATCH_UP_DEADLINE_S = 5.0


def some_other(name: str) -> str:
    return next(other for other in NAMES if other != name)


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_every_server_killed_with_sigkill_catches_up_after_a_restart(tmp_path: Path, mode: str) -> None:
    with running_herd(write_herd_file(tmp_path, mode=mode)) as herd:
        figures = []
        for victim in NAMES:
            origin = some_other(victim)
            before = herd.iamat(origin, f"before-{victim}")
            herd.wait_for_record(victim, f"before-{victim}", before)
            herd.kill(victim)  # SIGKILL: no goodbye, no flushed state
            during = herd.iamat(origin, f"during-{victim}")
            for name in NAMES:
                if name != victim:
                    herd.wait_for_record(name, f"during-{victim}", during)
            started = time.monotonic()
            herd.start(victim)
            # CATCHUP-1/2: the new incarnation gets the records made while it was down and the
            # ones it lost with its memory, with no new IAMAT.
            herd.wait_for_record(victim, f"during-{victim}", during, deadline_s=CATCH_UP_DEADLINE_S)
            herd.wait_for_record(victim, f"before-{victim}", before, deadline_s=CATCH_UP_DEADLINE_S)
            figures.append((victim, time.monotonic() - started))
        print(
            f"{mode}: restart to caught-up (process start included): "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in figures)
        )


def test_a_stopped_neighbour_costs_no_reply_latency_and_bounded_memory(tmp_path: Path) -> None:
    with running_herd(write_herd_file(tmp_path)) as herd:
        stopped = "Bona"  # neighbour of Clark, Campbell and Bailey
        neighbours = ["Bailey", "Campbell", "Clark"]
        herd.iamat("Clark", "warm-up")
        baselines = {name: reset_peak_memory(herd.processes[name].pid) for name in neighbours}
        herd.pause(stopped)
        latencies: list[float] = []
        probing = threading.Event()
        probing.set()

        def probe_replies() -> None:
            # A grader's client: one connection per command, at every live server in turn.
            index = 0
            while probing.is_set():
                name = ("Bailey", "Campbell", "Clark", "Jaquez")[index % 4]
                sent = time.monotonic()
                reply = herd.send(name, b"IAMAT probe-%d +1+2 %d\n" % (index, 1_700_000_000 + index))
                latencies.append(time.monotonic() - sent)
                assert reply.startswith(b"AT " + name.encode()), reply
                index += 1

        prober = threading.Thread(target=probe_replies, daemon=True)
        try:
            prober.start()
            # 5 000 updates at Clark for 50 clients, pipelined: the outbox for the stopped Bona
            # keeps one record per client (LINK-5), however many updates it misses.
            start_time = int(time.time()) * 1_000_000_000
            updates = b"".join(
                b"IAMAT flood-%d +1+2 %d.%09d\n" % (index % 50, *divmod(start_time + index, 1_000_000_000))
                for index in range(5_000)
            )
            replies = herd.send("Clark", updates, timeout_s=30)
            wait_until(lambda: len(latencies) >= 200, deadline_s=30, what="200 probe replies")
            assert replies.count(b"\n") == 5_000 and replies.count(b"AT Clark ") == 5_000
            last = {b"flood-%d" % (index % 50): line for index, line in enumerate(replies.split(b"\n")[:-1])}
            # Floods go round the stopped server: Jaquez hears from Clark, Bailey via Campbell.
            for name in ("Jaquez", "Bailey", "Campbell"):
                for client, at_line in list(last.items())[-3:]:
                    herd.wait_for_record(name, client.decode(), at_line)
            probing.clear()
            prober.join(10)
            assert not prober.is_alive()
            memory = {name: memory_kib(herd.processes[name].pid)["VmHWM"] for name in neighbours}
        finally:
            probing.clear()
            herd.resume(stopped)
        worst_ms = max(latencies) * 1000
        print(
            f"SIGSTOP {stopped}: {len(latencies)} probe replies at the other servers, worst "
            f"{worst_ms:.1f} ms, median {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms; "
            "neighbours' peak RSS growth during 5000 updates: "
            + ", ".join(f"{name} {(memory[name] - baselines[name]) / 1024:.1f} MiB" for name in neighbours)
        )
        assert len(latencies) >= 4
        for name in neighbours:
            assert (memory[name] - baselines[name]) / 1024 < 32, name
        # SIGCONT: the link recovers and the stopped server gets the newest record of each client.
        for client, at_line in last.items():
            herd.wait_for_record(stopped, client.decode(), at_line, deadline_s=CATCH_UP_DEADLINE_S)


# ---- misbehaving clients ---------------------------------------------------------------------


def test_silent_and_half_line_clients_do_not_block_anyone(tmp_path: Path) -> None:
    with running_herd(write_herd_file(tmp_path, names=["Solo"], links=[])) as herd:
        address = herd.config.servers["Solo"]
        with (
            socket.create_connection((address.host, address.port)) as silent,
            socket.create_connection((address.host, address.port)) as half,
            socket.create_connection((address.host, address.port)) as half_then_eof,
        ):
            half.sendall(b"IAMAT half +1+2")
            half_then_eof.sendall(b"IAMAT eof-ends-it +1+2 1")
            # Others are served while those three sit there (one event loop, no thread each).
            for index in range(20):
                assert herd.iamat("Solo", f"other-{index}").startswith(b"AT Solo ")
            # FRAME-2: EOF ends a final line without LF; it is answered.
            half_then_eof.shutdown(socket.SHUT_WR)
            reply, reset = read_until_closed(half_then_eof)
            assert not reset and reply.startswith(b"AT Solo ") and reply.endswith(b" eof-ends-it +1+2 1\n")
            # The unfinished line stays unfinished: not a command yet.
            assert herd.stored_at_line("Solo", "half") is None
            half.sendall(b" 1\n")
            half.settimeout(5)
            assert half.recv(4096).endswith(b" half +1+2 1\n")
            silent.settimeout(0.2)
            with pytest.raises(TimeoutError):
                silent.recv(1)  # nothing was asked, nothing is said, and it stays open


#: LIMIT-5: the herd log may hold this much unwritten (herdref.herd.log's default); a line
#: counts until it is written and the writer copies the backlog through a 1 MiB file buffer,
#: never whole, so that (and a little slack) is all the log may add.
LOG_BACKLOG_MIB = 64


def test_a_client_sending_100_mb_gets_its_answer_and_the_server_carries_on(tmp_path: Path) -> None:
    with running_herd(write_herd_file(tmp_path, names=["Solo"], links=[])) as herd:
        pid = herd.processes["Solo"].pid
        herd.iamat("Solo", "warm-up")
        address = herd.config.servers["Solo"]
        max_line = herd.config.limits.max_line_bytes
        # 100 MB in one line with no end: cut at max_line_bytes and closed (LIMIT-1).
        before = reset_peak_memory(pid)
        with socket.create_connection((address.host, address.port)) as flood:
            flooder = Flooder(flood, b"y" * (100 * MIB), stall_s=10.0)
            flooder.start()
            reply, _ = read_until_closed(flood, timeout_s=30)
            flooder.join(30)
        assert reply == b"? " + b"y" * max_line + b"\n"
        one_line_growth = (memory_kib(pid)["VmHWM"] - before) / 1024
        assert herd.iamat("Solo", "after-one-line").startswith(b"AT Solo ")
        # 100 MB of lines that each fit the limit: every one is answered '?' (ERR-1), in order.
        before = reset_peak_memory(pid)
        line = b"x" * 999 + b"\n"
        expected = (b"? " + line) * 100_000
        with socket.create_connection((address.host, address.port)) as flood:
            lines_flooder = Flooder(flood, line * 100_000, stall_s=10.0)
            lines_flooder.start()
            flood.settimeout(10)
            received = bytearray()
            while len(received) < len(expected):
                chunk = flood.recv(1 << 20)
                assert chunk, "the server closed a client that sent lines of valid length"
                received += chunk
            lines_flooder.join(10)
        assert lines_flooder.ended_by == "all sent" and received == expected
        many_lines_growth = (memory_kib(pid)["VmHWM"] - before) / 1024
        print(
            f"100 MB clients: one endless line: peak RSS growth {one_line_growth:.1f} MiB "
            f"(sender ended: {flooder.ended_by}); 100 000 lines of 1000 octets: growth "
            f"{many_lines_growth:.1f} MiB (the herd log's backlog, LIMIT-5)"
        )
        assert one_line_growth < 32
        assert many_lines_growth < LOG_BACKLOG_MIB + 24
        assert herd.iamat("Solo", "after-100-mb").startswith(b"AT Solo ")


def test_clients_that_reset_mid_command_leave_the_server_serving(tmp_path: Path) -> None:
    with running_herd(write_herd_file(tmp_path, names=["Solo"], links=[])) as herd:
        herd.iamat("Solo", "target", "+34.068930-118.445127", "1")
        address = herd.config.servers["Solo"]
        for index in range(200):
            connection = socket.create_connection((address.host, address.port))
            # SO_LINGER 0: close() sends RST, the rudest way a client can leave.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.sendall([b"WHATSAT target 10 5\n", b"IAMAT x +1+2 1\n", b"IAMAT half"][index % 3])
            connection.close()
        assert exchange(address.host, address.port, b"HELLO\n") == b"? HELLO\n"
        assert herd.iamat("Solo", "after-resets").startswith(b"AT Solo ")
        assert herd.processes["Solo"].poll() is None
        log = (herd.config.log_dir / "Solo.log").read_bytes()
        assert b"Traceback" not in log


# ---- misbehaving neighbours ------------------------------------------------------------------


class ChattyNeighbour(threading.Thread):
    """A fake server B on B's port: on the first link connection it writes ``first_words``
    (no LF) before reading; it keeps every line it receives on any connection."""

    def __init__(self, port: int, first_words: bytes) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", port))
        self.first_words = first_words
        self.lines: list[bytes] = []
        self.junk_sent = threading.Event()

    def run(self) -> None:
        self.listener.settimeout(30)
        with contextlib.suppress(OSError):
            first = True
            while True:
                connection, _ = self.listener.accept()
                if first:
                    connection.sendall(self.first_words)
                    self.junk_sent.set()
                    first = False
                threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            buffered = b""
            while chunk := connection.recv(65536):
                buffered += chunk
                *complete, buffered = buffered.split(b"\n")
                self.lines.extend(complete)

    def close(self) -> None:
        self.listener.close()


def test_a_neighbour_writing_a_70_000_octet_line_on_a_link_does_not_stop_the_floods(tmp_path: Path) -> None:
    # CATCHUP-4, LINK-2: what a neighbour writes on a link is ignored; 70 000 octets without
    # LF used to end the persistent link task (readline's 64 KiB limit), so no flood reached
    # that neighbour again.
    config = write_herd_file(tmp_path, names=["Alpha", "Beta"], links=[("Alpha", "Beta")])
    herd = Herd(config)
    beta = ChattyNeighbour(herd.config.servers["Beta"].port, b"x" * 70_000)
    beta.start()
    try:
        herd.start("Alpha")
        assert beta.junk_sent.wait(CATCH_UP_DEADLINE_S)
        for index in range(3):
            at_line = herd.iamat("Alpha", f"after-long-line-{index}")
            wait_until(lambda line=at_line: line in beta.lines, what=f"Beta receives {at_line!r}")
        assert herd.alive() == ["Alpha"]
    finally:
        herd.stop_all()
        beta.close()
