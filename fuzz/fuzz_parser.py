"""Differential fuzzing: the fast parser ``parse_line`` against the grammar oracle
``parse_line_lark`` (spec/grammar.lark). For every input both must reject the line
(``ProtocolError``) or both must return the same message (or ``None`` for a blank line).

With atheris (coverage-guided, libFuzzer)::

    pip install atheris
    mkdir -p /tmp/herdref-corpus
    python fuzz/fuzz_parser.py /tmp/herdref-corpus fuzz/corpus -runs=200000

(libFuzzer adds new inputs to the first corpus directory, so the checked-in seeds stay as
they are.)

Without atheris, the same check runs under a seeded random mutator (no coverage guidance)::

    python fuzz/fuzz_parser.py --random 200000 [--seed 1]

Either way a disagreement stops the run with the line that shows it (atheris also writes it
to a ``crash-*`` file).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

try:
    import atheris
except ImportError:  # the random driver below needs nothing but the standard library
    atheris = None

if atheris is not None:
    with atheris.instrument_imports():
        from herdref.protocol import Message, ProtocolError, parse_line, parse_line_lark
else:
    from herdref.protocol import Message, ProtocolError, parse_line, parse_line_lark

CORPUS = Path(__file__).parent / "corpus"
WHITESPACE = b" \t\v\f\r"


def outcome(parser: Callable[[bytes], Message | None], line: bytes) -> Message | str | None:
    try:
        return parser(line)
    except ProtocolError:
        return "rejected"


def check(data: bytes) -> None:
    """The property: both parsers agree on the first line of ``data`` (LF frames lines)."""
    line = data.split(b"\n", 1)[0]
    fast = outcome(parse_line, line)
    oracle = outcome(parse_line_lark, line)
    if fast != oracle:
        raise AssertionError(f"parsers disagree on {line!r}: parse_line {fast!r}, grammar {oracle!r}")


def seeds() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS.iterdir()) if path.is_file()]


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """A libFuzzer-like byte mutation: flip, insert, delete, splice, swap separators."""
    buffer = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        kind = rng.randrange(7)
        position = rng.randrange(len(buffer) + 1)
        if kind == 0 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif kind == 1:
            buffer[position:position] = bytes([rng.randrange(256)])
        elif kind == 2 and buffer:
            del buffer[position : position + rng.randrange(1, 8)]
        elif kind == 3:
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            buffer[position:position] = other[start : start + rng.randrange(1, 16)]
        elif kind == 4:
            buffer[position:position] = bytes([rng.choice(WHITESPACE)])
        elif kind == 5:
            buffer[position:position] = rng.choice((b"0", b"9" * 30, b".", b"+", b"-", b"\x00", b"\xff"))
        else:
            buffer = bytearray(bytes(buffer).replace(b" ", bytes([rng.choice(WHITESPACE)])))
    return bytes(buffer)


def run_random(runs: int, seed: int) -> int:
    rng = random.Random(seed)
    pool = seeds()
    for _ in range(runs):
        data = mutate(rng, rng.choice(pool), pool)
        check(data)
        if rng.random() < 0.1:
            pool.append(data)  # keep some mutants as parents, as a coverage-blind corpus
            if len(pool) > 5000:
                pool.pop(rng.randrange(len(pool)))
    print(f"{runs} inputs, parsers agreed on all (seed {seed})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--random", type=int, metavar="RUNS", help="run the plain random driver")
    parser.add_argument("--seed", type=int, default=1)
    known, rest = parser.parse_known_args()
    if known.random is not None or atheris is None:
        return run_random(known.random or 100_000, known.seed)
    atheris.Setup([sys.argv[0], *rest], check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
