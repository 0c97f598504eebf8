"""LIMIT-1..4 and LEX-2 against real ``herdref serve`` processes: every limit has a defined
outcome on the wire, the server keeps serving, and its memory stays bounded.

Memory is read from ``/proc/PID/status``: ``VmRSS`` (resident now) before the attack and
``VmHWM`` (the peak resident size of the process's life) after it, so a transient spike during
the attack is caught without sampling.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

from herdref.herd.config import Limits, PlacesSettings

from .herd_harness import Herd, running_herd, wait_until, write_herd_file

MIB = 1024 * 1024


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in KiB, from /proc/PID/status."""
    figures: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0])
    return figures


def reset_peak_memory(pid: int) -> int:
    """Start a fresh ``VmHWM`` window (Linux: writing 5 to clear_refs resets the peak RSS) and
    return the resident size it starts from, in KiB."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError as exc:
        pytest.skip(f"cannot reset the peak RSS of the server: {exc}")
    return memory_kib(pid)["VmRSS"]


def solo_herd_file(
    directory: Path,
    limits: Limits,
    *,
    mode: Literal["persistent", "ephemeral"] = "persistent",
    places: PlacesSettings | None = None,
) -> Path:
    """One server, no links, with the given limits (and Places, when given)."""
    return write_herd_file(directory, names=["Solo"], links=[], mode=mode, limits=limits, places=places)


def connect(herd: Herd, name: str = "Solo", *, timeout_s: float = 5.0) -> socket.socket:
    address = herd.config.servers[name]
    return socket.create_connection((address.host, address.port), timeout=timeout_s)


def read_until_closed(connection: socket.socket, *, timeout_s: float = 5.0) -> tuple[bytes, bool]:
    """Everything the server sends until it closes; the flag says whether it closed with a
    reset (RST) rather than EOF."""
    deadline = time.monotonic() + timeout_s
    chunks = []
    while True:
        connection.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = connection.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def ask(connection: socket.socket, line: bytes) -> bytes:
    """Send one command on an open connection and read its one-line reply."""
    connection.sendall(line)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = connection.recv(65536)
        assert chunk, f"connection closed before the reply to {line!r}"
        reply += chunk
    return reply


class Flooder(threading.Thread):
    """Sends ``payload`` as fast as the server takes it and never reads; records how far it
    got and how the sending ended."""

    def __init__(self, connection: socket.socket, payload: bytes, *, stall_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.connection = connection
        self.payload = memoryview(payload)
        self.stall_s = stall_s
        self.sent = 0
        self.ended_by: str = "running"

    def run(self) -> None:
        self.connection.settimeout(self.stall_s)
        try:
            while self.sent < len(self.payload):
                self.sent += self.connection.send(self.payload[self.sent : self.sent + 65536])
            self.ended_by = "all sent"
        except TimeoutError:
            self.ended_by = "stalled"  # the server stopped reading (LIMIT-4)
        except (BrokenPipeError, ConnectionResetError):
            self.ended_by = "closed"


# ---- LIMIT-1 --------------------------------------------------------------------------------


def test_an_overlong_line_gets_its_first_octets_back_then_the_connection_closes(tmp_path: Path) -> None:
    with running_herd(solo_herd_file(tmp_path, Limits(max_line_bytes=1024))) as herd:
        overlong = bytes(range(1, 10)) + b"x" * 3000
        payload = b"IAMAT early +1+2 1\n" + overlong + b"\nIAMAT never +1+2 1\n"
        with connect(herd) as connection:
            connection.sendall(payload)
            replies, _ = read_until_closed(connection)
        first, second = replies.split(b"\n", 1)
        assert first.startswith(b"AT Solo ") and first.endswith(b" early +1+2 1")  # FRAME-3: in order
        assert second == b"? " + overlong[:1024] + b"\n"  # nothing after: the connection closed
        # A partial line that passes the limit before its LF arrives is cut off the same way.
        with connect(herd) as connection:
            connection.sendall(b"z" * 5000)
            replies, _ = read_until_closed(connection)
        assert replies == b"? " + b"z" * 1024 + b"\n"
        # A line of exactly max_line_bytes is an ordinary (invalid) line: no cut, no close.
        exact = b"y" * 1024
        assert herd.send("Solo", exact + b"\nHELLO\n") == b"? " + exact + b"\n? HELLO\n"


def test_a_line_that_never_ends_cannot_grow_the_servers_memory(tmp_path: Path) -> None:
    with running_herd(solo_herd_file(tmp_path, Limits(max_line_bytes=65536))) as herd:
        pid = herd.processes["Solo"].pid
        herd.iamat("Solo", "warm-up")
        before = reset_peak_memory(pid)
        attack = b"A" * (32 * MIB)  # no LF anywhere
        with connect(herd) as connection:
            flooder = Flooder(connection, attack)
            flooder.start()
            replies, _ = read_until_closed(connection)
            flooder.join(10)
        assert replies == b"? " + b"A" * 65536 + b"\n"
        peak = memory_kib(pid)["VmHWM"]
        growth_mib = (peak - before) / 1024
        print(
            f"LIMIT-1: 32 MiB line without LF; RSS before {before} KiB, peak {peak} KiB, "
            f"growth {growth_mib:.1f} MiB; client sent {flooder.sent / MIB:.1f} MiB ({flooder.ended_by})"
        )
        assert growth_mib < 16, f"the server grew by {growth_mib:.1f} MiB for one overlong line"
        assert herd.iamat("Solo", "still-serving").startswith(b"AT Solo ")


# ---- LIMIT-2 --------------------------------------------------------------------------------


def test_connections_beyond_the_limit_are_closed_unanswered_and_the_rest_keep_working(
    tmp_path: Path,
) -> None:
    limit = 200
    with running_herd(solo_herd_file(tmp_path, Limits(max_connections=limit))) as herd:
        pid = herd.processes["Solo"].pid
        before = memory_kib(pid)["VmRSS"]
        held = [connect(herd) for _ in range(limit)]
        try:
            # Every held connection is registered and served (a reply proves the server accepted it).
            for index, connection in enumerate(held):
                assert ask(connection, b"IAMAT held-%d +1+2 1\n" % index).startswith(b"AT Solo ")
            held_rss = memory_kib(pid)["VmRSS"]
            with connect(herd) as refused:
                refused.sendall(b"IAMAT refused +1+2 1\n")
                reply, _ = read_until_closed(refused)
            assert reply == b""  # LIMIT-2: closed at once, unanswered
            held.pop().close()

            def a_new_connection_is_served() -> bool:
                try:
                    with connect(herd, timeout_s=1.0) as fresh:
                        return ask(fresh, b"IAMAT after +1+2 1\n").startswith(b"AT Solo ")
                except (AssertionError, OSError):
                    return False

            wait_until(a_new_connection_is_served, what="a connection is accepted once one closed")
            assert ask(held[0], b"WHATSAT refused 1 0\n") == b"? WHATSAT refused 1 0\n"
        finally:
            for connection in held:
                connection.close()
        per_connection = (held_rss - before) / limit
        print(
            f"LIMIT-2: {limit} connections held; RSS {before} -> {held_rss} KiB "
            f"({per_connection:.1f} KiB each)"
        )
        # An idle connection holds no receive buffer of its own (the server shares one).
        assert per_connection < 16, f"each idle connection costs {per_connection:.1f} KiB"


# ---- LIMIT-3 --------------------------------------------------------------------------------


def test_idle_clients_are_closed_and_peer_links_are_not(tmp_path: Path) -> None:
    idle_timeout_s = 0.5
    config = write_herd_file(
        tmp_path,
        names=["Left", "Right"],
        links=[("Left", "Right")],
        limits=Limits(idle_timeout_s=idle_timeout_s),
    )
    with running_herd(config) as herd:
        before = herd.iamat("Left", "before-idle")
        herd.wait_for_record("Right", "before-idle", before)
        with connect(herd, "Left") as silent, connect(herd, "Left") as half_line:
            opened = time.monotonic()
            half_line.sendall(b"IAMAT half-a-line +1+2")
            silent_reply, _ = read_until_closed(silent, timeout_s=idle_timeout_s * 10)
            silent_after = time.monotonic() - opened
            half_reply, _ = read_until_closed(half_line, timeout_s=idle_timeout_s * 10)
        # LIMIT-3: closed without a word, not before the timeout; the unfinished line is not a
        # command (only EOF ends a final line, FRAME-2), so it is neither answered nor stored.
        assert silent_reply == b"" and half_reply == b""
        assert silent_after >= idle_timeout_s - 0.05
        print(f"LIMIT-3: an idle client was closed after {silent_after:.2f} s (timeout {idle_timeout_s} s)")
        assert herd.stored_at_line("Left", "half-a-line") is None
        # The persistent peer links were idle just as long and were left alone (PEER-2).
        logs = b"".join((herd.config.log_dir / f"{name}.log").read_bytes() for name in ("Left", "Right"))
        assert b" PEER-DROP " not in logs and b" dropped" not in logs
        after = herd.iamat("Right", "after-idle")
        herd.wait_for_record("Left", "after-idle", after)


# ---- LIMIT-4 --------------------------------------------------------------------------------


def repeated_iamats(count: int) -> bytes:
    """``count`` IAMATs for one client with one timestamp: after the first, each is a duplicate
    (IAMAT-7), so the location table does not grow and any memory growth is buffering."""
    return b"IAMAT same +1+2 1\n" * count


def test_a_client_that_does_not_read_is_paused_not_buffered(tmp_path: Path) -> None:
    with running_herd(solo_herd_file(tmp_path, Limits())) as herd:
        pid = herd.processes["Solo"].pid
        herd.iamat("Solo", "warm-up")
        before = reset_peak_memory(pid)
        # 18 MB of commands (about 40 MB of replies) from a client that reads nothing.
        payload = repeated_iamats(1_000_000)
        with connect(herd) as greedy:
            flooder = Flooder(greedy, payload)
            flooder.start()
            flooder.join(60)
            # LIMIT-4: the server stopped reading, so the sender stalled long before the end.
            assert flooder.ended_by == "stalled", flooder.ended_by
            # Meanwhile everyone else is served at once.
            assert herd.iamat("Solo", "polite").startswith(b"AT Solo ")
            peak = memory_kib(pid)["VmHWM"]
            # Once the client reads, the server resumes and every command gets its reply: finish
            # the line the sender was cut off in, add one more, and read up to its reply.
            greedy.settimeout(10)
            replies = bytearray()

            def read_to_the_last_reply() -> None:
                while not replies.endswith(b" last-one +1+2 1\n"):
                    chunk = greedy.recv(1 << 20)
                    if not chunk:
                        return  # the server closed a client that was only slow to read
                    replies.extend(chunk)

            reader = threading.Thread(target=read_to_the_last_reply, daemon=True)
            reader.start()
            sent_end = payload.index(b"\n", max(flooder.sent - 1, 0)) + 1
            greedy.sendall(payload[flooder.sent : sent_end] + b"IAMAT last-one +1+2 1\n")
            reader.join(20)
        lines = bytes(replies).split(b"\n")[:-1]
        assert len(lines) == payload[:sent_end].count(b"\n") + 1
        assert all(line.startswith(b"AT Solo ") for line in lines)
        growth_mib = (peak - before) / 1024
        print(
            f"LIMIT-4: non-reading client stalled after {flooder.sent / MIB:.1f} MiB of "
            f"{len(payload) / MIB:.1f} MiB; RSS before {before} KiB, peak {peak} KiB "
            f"(growth {growth_mib:.1f} MiB); then all {len(lines)} replies read in order"
        )
        assert growth_mib < 16


def test_a_client_whose_unread_replies_pass_the_cap_is_closed(tmp_path: Path) -> None:
    # Default limits (max_pending_reply_bytes = 1 MiB). A 19-octet WHATSAT with bound 20 earns a
    # reply of about 25 KB, so the replies to one read of commands pass the cap while reading
    # is already paused: the server must drop the client rather than hold them all.
    with running_herd(solo_herd_file(tmp_path, Limits())) as herd:
        pid = herd.processes["Solo"].pid
        herd.iamat("Solo", "same", "+34.068930-118.445127", "1")
        before = reset_peak_memory(pid)
        payload = b"WHATSAT same 50 20\n" * 200_000
        with connect(herd) as greedy:
            greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            flooder = Flooder(greedy, payload, stall_s=5.0)
            flooder.start()
            flooder.join(60)
            if flooder.ended_by != "closed":
                # The reset can also arrive after the last send; reading then reports it.
                _, reset = read_until_closed(greedy, timeout_s=10)
                assert reset, flooder.ended_by
        log_path = herd.config.log_dir / "Solo.log"
        wait_until(lambda: b" OVERFULL " in log_path.read_bytes(), what="the OVERFULL log line")
        peak = memory_kib(pid)["VmHWM"]
        print(
            f"LIMIT-4: WHATSAT client dropped after sending {flooder.sent / MIB:.2f} MiB with replies "
            f"unread; RSS before {before} KiB, peak {peak} KiB (growth {(peak - before) / 1024:.1f} MiB)"
        )
        assert (peak - before) / 1024 < 64
        assert herd.iamat("Solo", "still-serving").startswith(b"AT Solo ")


def test_a_client_that_never_reads_is_dropped_after_the_idle_timeout(tmp_path: Path) -> None:
    # LIMIT-3 with LIMIT-4: a paused client sends nothing more, so it goes idle; its unread
    # replies must not keep the closing connection alive for ever.
    with running_herd(solo_herd_file(tmp_path, Limits(idle_timeout_s=0.5))) as herd:
        payload = repeated_iamats(1_000_000)
        with connect(herd) as greedy:
            greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            flooder = Flooder(greedy, payload, stall_s=3.0)
            flooder.start()
            flooder.join(30)
            log_path = herd.config.log_dir / "Solo.log"
            wait_until(lambda: b" IDLE " in log_path.read_bytes(), what="the IDLE log line")
            replies, reset = read_until_closed(greedy, timeout_s=10)
        # Dropped with replies still unread: a reset (seen by the sender or the reader), and
        # fewer replies than commands.
        assert flooder.ended_by == "closed" or reset
        assert replies.count(b"\n") < payload[: flooder.sent].count(b"\n")
        assert herd.iamat("Solo", "still-serving").startswith(b"AT Solo ")


def test_hundreds_of_pipelined_whatsats_are_all_answered_in_order(tmp_path: Path) -> None:
    # LIMIT-4 holds lines back while many replies wait; held lines must still be answered, in
    # order (FRAME-3), including after the client half-closes (FRAME-4).
    with running_herd(solo_herd_file(tmp_path, Limits())) as herd:
        herd.iamat("Solo", "same", "+34.068930-118.445127", "1")
        commands = [
            b"WHATSAT same 5 %d\n" % (index % 3) if index % 4 else b"IAMAT same +1+2 1\n"
            for index in range(600)
        ]
        replies = herd.send("Solo", b"".join(commands), timeout_s=30)
        answers = []
        rest = replies
        for command in commands:
            first, rest = rest.split(b"\n", 1)
            assert first.startswith(b"AT Solo ")
            if command.startswith(b"WHATSAT"):
                body, rest = rest.split(b"\n\n", 1)
                answers.append(b"WHATSAT" if body.startswith(b"{") else body)
            else:
                answers.append(b"IAMAT")
        assert rest == b""
        assert answers == [command.split(b" ", 1)[0] for command in commands]


# ---- LEX-2 ----------------------------------------------------------------------------------


def test_client_ids_are_octets_echoed_exactly_across_the_herd(tmp_path: Path) -> None:
    config = write_herd_file(tmp_path, names=["Left", "Right"], links=[("Left", "Right")])
    with running_herd(config) as herd:
        whitespace = set(b" \t\n\v\f\r")
        every_octet = bytes(octet for octet in range(256) if octet not in whitespace)
        invalid_utf8 = [
            b"\xff\xfe",
            b"\xc3\x28",
            b"\xe2\x82",
            b"\xed\xa0\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\x00",
        ]
        for index, client in enumerate([every_octet, *invalid_utf8]):
            when = b"%d.5" % (1_700_000_000 + index)
            reply = herd.send("Left", b"IAMAT " + client + b" -33.86+151.21 " + when + b"\n")
            assert reply.endswith(b" " + client + b" -33.86+151.21 " + when + b"\n"), reply
            at_line = reply[:-1]
            whatsat = b"WHATSAT " + client + b" 1 0\n"
            wait_until(
                lambda: herd.send("Right", whatsat).split(b"\n", 1)[0] == at_line,  # noqa: B023
                what=f"Right returns the record of {client!r}",
            )
        # An invalid line keeps its octets in the '?' reply too (ERR-2).
        bad = b"WHATSAT \xff\x00\xc3 -1 2"
        assert herd.send("Right", bad + b"\n") == b"? " + bad + b"\n"


ZERO_RESULTS = b'{"html_attributions": [], "results": [], "status": "ZERO_RESULTS"}'


class SlowPlaces(threading.Thread):
    """A legacy Places endpoint on loopback that answers each request with ``body`` after
    ``delay_s``."""

    def __init__(self, delay_s: float, body: bytes = ZERO_RESULTS) -> None:
        super().__init__(daemon=True)
        import http.server

        delay = delay_s

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delay)  # this thread stands for Google taking its time
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def run(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_client_waiting_for_places_is_not_closed_as_idle(tmp_path: Path) -> None:
    # LIMIT-3: a client with a WHATSAT in flight is waiting for us, not idle; Places taking
    # longer than the idle timeout must not cost it its answer.
    idle_timeout_s = 0.3
    places = SlowPlaces(delay_s=idle_timeout_s * 5)
    places.start()
    try:
        legacy = PlacesSettings(provider="legacy", base_url=places.base_url)
        config = solo_herd_file(tmp_path, Limits(idle_timeout_s=idle_timeout_s), places=legacy)
        with running_herd(config) as herd:
            herd.iamat("Solo", "waiting", "+34.068930-118.445127", "1")
            with connect(herd) as client:
                client.sendall(b"WHATSAT waiting 10 5\n")
                reply, reset = read_until_closed(client, timeout_s=idle_timeout_s * 20)
        assert not reset
        assert reply.startswith(b"AT Solo ") and reply.endswith(b'"status" : "ZERO_RESULTS"\n}\n\n'), reply
    finally:
        places.close()


def test_a_places_answer_over_the_size_limit_is_a_question_mark_and_the_server_goes_on(
    tmp_path: Path,
) -> None:
    # LIMIT-6: an answer from Google longer than max_response_bytes is never read whole; the
    # WHATSAT gets '?' (PLACES-5) and the server keeps serving.
    huge = b'{"status": "OK", "results": [], "padding": "' + b"p" * 3_000_000 + b'"}'
    places = SlowPlaces(delay_s=0, body=huge)
    places.start()
    try:
        legacy = PlacesSettings(provider="legacy", base_url=places.base_url, max_response_bytes=1_048_576)
        config = solo_herd_file(tmp_path, Limits(), places=legacy)
        with running_herd(config) as herd:
            herd.iamat("Solo", "big", "+34.068930-118.445127", "1")
            assert herd.send("Solo", b"WHATSAT big 10 5\n") == b"? WHATSAT big 10 5\n"
            assert herd.iamat("Solo", "after").startswith(b"AT Solo ")
        assert b"over the limit of 1048576" in (herd.config.log_dir / "Solo.log").read_bytes()
    finally:
        places.close()


def test_a_full_record_table_answers_new_clients_but_keeps_no_record_of_them(tmp_path: Path) -> None:
    # LIMIT-7: a server holds at most max_clients client IDs; the IAMAT of one more is still
    # answered (IAMAT-4) but neither stored nor flooded, and the refusal is logged.
    config = write_herd_file(
        tmp_path,
        names=["Left", "Right"],
        links=[("Left", "Right")],
        limits=Limits(max_clients=3, idle_timeout_s=0.2),
    )
    with running_herd(config) as herd:
        held = [herd.iamat("Left", f"held-{index}") for index in range(3)]
        for index, at_line in enumerate(held):
            herd.wait_for_record("Right", f"held-{index}", at_line)
        refused = herd.iamat("Left", "one-too-many")
        assert refused.startswith(b"AT Left ")
        assert herd.stored_at_line("Left", "one-too-many") is None
        updated = herd.iamat("Left", "held-0")  # a held client still updates, and floods
        herd.wait_for_record("Right", "held-0", updated)
        wait_until(
            lambda: b"records of new clients refused" in (herd.config.log_dir / "Left.log").read_bytes(),
            what="the refusal is logged",
        )
        # Right never heard of it: the record was not flooded.
        assert herd.stored_at_line("Right", "one-too-many") is None
