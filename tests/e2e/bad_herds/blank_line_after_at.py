"""One bug: an empty line between the AT line and the JSON of a WHATSAT reply (WHATSAT-5)."""

from _base import HerdServer, main


class BlankLineAfterAt(HerdServer):
    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line + b"\n\n", body + b"\n\n"]


if __name__ == "__main__":
    main(BlankLineAfterAt)
