"""One bug: fields are split on single spaces only, so tabs or two spaces between fields make a
valid line invalid (LEX-3)."""

from _base import HerdServer, main


class SplitOnSingleSpace(HerdServer):
    def split(self, line: bytes) -> list[bytes]:
        return line.strip().split(b" ")


if __name__ == "__main__":
    main(SplitOnSingleSpace)
