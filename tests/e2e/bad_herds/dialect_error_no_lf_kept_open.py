"""Dialect, no bug: '? <line>' is written without a final LF (``"? " + line`` after
``splitlines()``), and a connection is never closed (a student herd,
2018). SPEC 1.1 lenient lets a single-line reply go without its final LF; FRAME-4's "then
closes" is herdref's own choice."""

from _base import main
from dialect_never_closes import NeverCloses


class ErrorNoLfKeptOpen(NeverCloses):
    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"? " + line]


if __name__ == "__main__":
    main(ErrorNoLfKeptOpen)
