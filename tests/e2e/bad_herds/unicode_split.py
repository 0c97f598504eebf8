"""One bug: lines are decoded and split with str.split(), which also splits on U+00A0, U+0085,
U+2003, 0x1C... (LEX-1)."""

from _base import HerdServer, main


class UnicodeSplit(HerdServer):
    def split(self, line: bytes) -> list[bytes]:
        return [
            field.encode("utf-8", "surrogateescape")
            for field in line.decode("utf-8", "surrogateescape").split()
        ]


if __name__ == "__main__":
    main(UnicodeSplit)
