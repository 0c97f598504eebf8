"""One bug: a blank line raises IndexError (fields[0]), which drops the connection and what follows
on it (FRAME-5)."""

from _base import HerdServer, main


class BlankLineEndsConnection(HerdServer):
    def is_blank(self, line: bytes) -> bool:
        return False  # the bug: blank lines reach answer(), which takes fields[0]


if __name__ == "__main__":
    main(BlankLineEndsConnection)
