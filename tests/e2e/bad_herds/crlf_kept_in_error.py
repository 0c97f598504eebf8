"""One bug: only the LF is removed, so "? <line>" for a CRLF line keeps the CR (ERR-2)."""

from _base import HerdServer, main


class CrlfKeptInError(HerdServer):
    def strip_terminator(self, line: bytes) -> bytes:
        return line.removesuffix(b"\n")


if __name__ == "__main__":
    main(CrlfKeptInError)
