"""One bug: the '?' copy is line[:-1], which cuts the last octet of a line ended by EOF instead of
LF (ERR-1)."""

from _base import HerdServer, main


class ErrorReplyDropsLastChar(HerdServer):
    def strip_terminator(self, line: bytes) -> bytes:
        return line[:-1].removesuffix(b"\r")  # the bug: assumes every line ends with LF


if __name__ == "__main__":
    main(ErrorReplyDropsLastChar)
