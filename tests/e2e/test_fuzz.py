"""Grammar-based fuzzing of a live server: over 100 000 lines, every reply checked.

The corpus is deterministic: seed lines come from the normative grammar (Hypothesis'
``from_lark`` over ``spec/grammar.lark``, start ``inbound``, derandomized), and a seeded
``random.Random`` mutates them field by field (octets, separators, lengths, number shapes,
encodings, NUL, truncation, splicing), with well-formed IAMAT/WHATSAT pairs mixed in so that
WHATSAT meets known clients too. The lines are pipelined over a few connections to one server.

The oracle is ``herdref.protocol.parse_line`` (itself held to the grammar by the property
suite): per line it gives the reply class the SPEC requires: ``? <line>`` for an invalid line
(ERR-1/2), an AT reply echoing the IAMAT's fields (IAMAT-4/5, AT-1/2), nothing for a blank or
AT line (FRAME-5, FLOOD-6), a WHATSAT reply for a client with a record and ``?`` for a client
with none (WHATSAT-4/5), ``?`` for a PEER from a server that is not a neighbour (PEER-2).
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.extra.lark import from_lark

from herdref.protocol import At, IAmAt, Peer, ProtocolError, WhatsAt, error_reply, lark_parser, parse_line

from .herd_harness import running_herd, write_herd_file

SEED = 20261124
GRAMMAR_SEEDS = 300
LINES_PER_CONNECTION = 26_000
CONNECTIONS = 4
WHITESPACE = b" \t\v\f\r"
_TIME_DIFF = re.compile(rb"[+-][0-9]+\.[0-9]{9}")


def grammar_seeds(count: int) -> list[bytes]:
    """``count`` sentences of the ``inbound`` rule, the same ones on every run."""
    seeds: list[bytes] = []

    @settings(
        derandomize=True,
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(from_lark(lark_parser(), start="inbound"))
    def collect(sentence: str) -> None:
        seeds.append(sentence.encode("latin-1"))

    collect()
    return seeds


# ---- the mutator ----------------------------------------------------------------------------

_ODD_OCTETS = [
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc2\xa0",
    b"\x85",
    b"\x1c",
    b"\x7f",
]
_ODD_NUMBERS = [
    b"0", b"-0", b"+0", b"00", b"1e5", b"1,5", b".5", b"5.", b"0x10", b"91", b"-181", b"+90.0000",
    b"50", b"50.000000001", b"20", b"21", b"9" * 40, b"1." + b"9" * 40, b"+34.068930-118.445127",
    b"+90-180", b"-90+180", b"+90.1+0", b"+0+180.0001", b"1700000000.000000001",
]  # fmt: skip
_COMMANDS = [
    b"IAMAT",
    b"WHATSAT",
    b"AT",
    b"PEER",
    b"iamat",
    b"Iamat",
    b"IAMAT\x00",
    b"?",
    b"AT:",
    b"WHATSAT2",
]


def random_octets(rng: random.Random, *, max_length: int = 24) -> bytes:
    octets = bytes(rng.randrange(256) for _ in range(rng.randrange(1, max_length)))
    return octets.replace(b"\n", b"")


def separator(rng: random.Random) -> bytes:
    return bytes(rng.choice(WHITESPACE) for _ in range(rng.choice((1, 1, 1, 2, 5))))


def mutate(rng: random.Random, line: bytes) -> bytes:
    """One field-level mutation of ``line`` (which holds no LF); the result holds no LF."""
    fields = line.split()
    kind = rng.randrange(12)
    if kind == 0 or not fields:
        return line  # the grammar's sentence itself
    index = rng.randrange(len(fields))
    if kind == 1:
        fields[index] = random_octets(rng).translate(None, WHITESPACE) or b"\x00"
    elif kind == 2:
        fields[index] = rng.choice(_ODD_NUMBERS)
    elif kind == 3:
        fields[index] = rng.choice(_ODD_OCTETS).join((fields[index][:1], fields[index][1:]))
    elif kind == 4:
        del fields[index]
    elif kind == 5:
        fields.insert(index, fields[index])
    elif kind == 6:
        fields[0] = rng.choice(_COMMANDS)
    elif kind == 7:
        fields[index] = "ünïcødé-✓".encode(rng.choice(("utf-8", "utf-16-le", "utf-32")))
    elif kind == 8:
        cut = rng.randrange(len(line) + 1)
        return line[:cut].replace(b"\n", b"")
    elif kind == 9:
        position = rng.randrange(len(line) + 1)
        return (line[:position] + rng.choice(_ODD_OCTETS) + line[position:]).replace(b"\n", b"")
    elif kind == 10:
        fields[index] = fields[index] * rng.randrange(2, 40)
    else:
        return line + rng.choice((b"\r", b"\r\r", b" \r", b"\x00", b"\t"))
    joined = separator(rng).join(fields)
    return (separator(rng) if rng.random() < 0.2 else b"") + joined.replace(b"\n", b"")


def well_formed(rng: random.Random, clients: list[bytes]) -> bytes:
    """An IAMAT or a WHATSAT for one of this connection's own clients."""
    client = rng.choice(clients)
    if rng.random() < 0.5:
        latitude = rng.uniform(-90, 90)
        longitude = rng.uniform(-180, 180)
        when = 1_700_000_000 + rng.randrange(10**9)
        return b"IAMAT %s %+.6f%+.6f %d.%09d" % (client, latitude, longitude, when, rng.randrange(10**9))
    return b"WHATSAT %s %s %d" % (client, rng.choice((b"0.5", b"10", b"50", b"1.25")), rng.randrange(21))


# ---- the oracle -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expectation:
    line: bytes
    #: "none", "error", "at" or "whatsat"
    kind: str
    message: IAmAt | WhatsAt | None = None
    #: for "whatsat": must the server have a record (this connection stored one before)?
    known: bool = False


def expectations_for(lines: list[bytes]) -> tuple[list[Expectation], set[bytes]]:
    """What the SPEC requires for each line of one connection, and the client IDs that this
    connection gives a record."""
    expected: list[Expectation] = []
    known: set[bytes] = set()
    for line in lines:
        try:
            message = parse_line(line)
        except ProtocolError:
            expected.append(Expectation(line, "error"))
            continue
        if message is None:
            expected.append(Expectation(line, "none"))
        elif isinstance(message, IAmAt):
            known.add(message.client_id)
            expected.append(Expectation(line, "at", message))
        elif isinstance(message, At):
            known.add(message.client_id)
            expected.append(Expectation(line, "none"))
        elif isinstance(message, WhatsAt):
            expected.append(Expectation(line, "whatsat", message, known=message.client_id in known))
        else:
            assert isinstance(message, Peer)
            expected.append(Expectation(line, "error"))  # PEER-2: Solo has no neighbours
    return expected, known


def check_replies(replies: bytes, expected: list[Expectation], known_anywhere: set[bytes]) -> dict[str, int]:
    """Walk the reply stream against the expectations; returns counts per reply kind."""
    position = 0
    counts = {"none": 0, "error": 0, "at": 0, "whatsat": 0, "whatsat-unknown": 0}
    for expectation in expected:
        line = expectation.line
        if expectation.kind == "none":
            counts["none"] += 1
            continue
        if expectation.kind == "error":
            reply = error_reply(line)
            assert replies.startswith(reply, position), (line, replies[position : position + 200])
            position += len(reply)
            counts["error"] += 1
            continue
        end = replies.index(b"\n", position)
        first = replies[position:end]
        message = expectation.message
        if expectation.kind == "at":
            assert isinstance(message, IAmAt)
            fields = first.split(b" ")
            assert fields[:2] == [b"AT", b"Solo"], (line, first)
            assert _TIME_DIFF.fullmatch(fields[2]), (line, first)
            assert fields[3:] == [message.client_id, message.location, message.client_time], (line, first)
            position = end + 1
            counts["at"] += 1
            continue
        assert isinstance(message, WhatsAt)
        if first.startswith(b"? "):
            # WHATSAT-4: no record yet; only possible if this connection never stored one.
            assert not expectation.known, (line, first)
            assert first + b"\n" == error_reply(line), (line, first)
            position = end + 1
            counts["whatsat-unknown"] += 1
            continue
        assert message.client_id in known_anywhere, (line, first)
        stored = parse_line(first)
        assert isinstance(stored, At) and stored.client_id == message.client_id, (line, first)
        body_end = replies.index(b"\n\n", end)
        assert replies[end + 1 : body_end].startswith(b"{"), (line, replies[end : end + 100])
        position = body_end + 2
        counts["whatsat"] += 1
    assert position == len(replies), ("replies nobody asked for", replies[position : position + 200])
    return counts


def pipeline(host: str, port: int, payload: bytes, results: dict[int, bytes], key: int) -> None:
    """Send ``payload`` on one connection while reading, half-close, read to EOF."""
    with socket.create_connection((host, port), timeout=60) as connection:
        sender = threading.Thread(
            target=lambda: (connection.sendall(payload), connection.shutdown(socket.SHUT_WR)), daemon=True
        )
        sender.start()
        chunks = []
        while chunk := connection.recv(1 << 20):
            chunks.append(chunk)
        sender.join(10)
    results[key] = b"".join(chunks)


def test_a_live_server_answers_100_000_fuzzed_lines_per_spec(tmp_path: Path) -> None:
    started = time.monotonic()
    seeds = [seed.replace(b"\n", b"") for seed in grammar_seeds(GRAMMAR_SEEDS)]
    rng = random.Random(SEED)
    corpus: list[list[bytes]] = []
    for connection in range(CONNECTIONS):
        clients = [b"c%d-%d" % (connection, index) for index in range(20)]
        lines = []
        for _ in range(LINES_PER_CONNECTION):
            roll = rng.random()
            if roll < 0.15:
                lines.append(well_formed(rng, clients))
            else:
                line = mutate(rng, rng.choice(seeds))
                lines.append(mutate(rng, line) if roll > 0.85 else line)
        corpus.append(lines)
    plans = [expectations_for(lines) for lines in corpus]
    known_anywhere = set().union(*(known for _, known in plans))
    generated = time.monotonic()

    with running_herd(write_herd_file(tmp_path, names=["Solo"], links=[])) as herd:
        address = herd.config.servers["Solo"]
        results: dict[int, bytes] = {}
        threads = [
            threading.Thread(
                target=pipeline,
                args=(address.host, address.port, b"".join(line + b"\n" for line in lines), results, index),
            )
            for index, lines in enumerate(corpus)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        sent = time.monotonic()
        totals: dict[str, int] = {}
        for index, (expected, _) in enumerate(plans):
            for kind, count in check_replies(results[index], expected, known_anywhere).items():
                totals[kind] = totals.get(kind, 0) + count
        # ERR-4: the server is alive and answering afterwards.
        assert herd.processes["Solo"].poll() is None
        assert herd.iamat("Solo", "after-fuzzing").startswith(b"AT Solo ")
        log = (herd.config.log_dir / "Solo.log").read_bytes()
        assert b"Traceback" not in log
    lines_sent = sum(len(lines) for lines in corpus)
    print(
        f"fuzz: {lines_sent} lines over {CONNECTIONS} connections; replies by kind {totals}; "
        f"corpus {generated - started:.1f} s, server round trip {sent - generated:.1f} s"
    )
    assert lines_sent >= 100_000
    # The corpus reaches every reply class, so a server that broke any of them would be caught.
    assert all(count > 100 for count in totals.values()), totals


def test_the_parser_fuzz_harness_runs_without_atheris_and_finds_agreement() -> None:
    # fuzz/fuzz_parser.py's plain random driver: parse_line and the grammar agree throughout.
    harness = Path(__file__).parents[2] / "fuzz" / "fuzz_parser.py"
    result = subprocess.run(
        [sys.executable, str(harness), "--random", "20000", "--seed", str(SEED)],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert b"20000 inputs, parsers agreed on all" in result.stdout
