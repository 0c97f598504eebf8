"""A strict deviation, not a bug: only the LF is removed from a line, so the CR of a CRLF line stays
in its last field, the client time, and the AT reply ends in CRLF (FRAME-1 strict: CR is white
space; lenient AT-1 reads CRLF as a reply's terminator), as two student herds
do."""

from _base import HerdServer, main


class CrlfKeptInTime(HerdServer):
    def strip_terminator(self, line: bytes) -> bytes:
        return line.removesuffix(b"\n")

    def split(self, line: bytes) -> list[bytes]:
        fields = line.split()
        if line.endswith(b"\r") and fields:
            fields[-1] += b"\r"  # the CR stays with the last field
        return fields

    def time_ok(self, client_time: bytes) -> bool:
        return super().time_ok(client_time.removesuffix(b"\r"))


if __name__ == "__main__":
    main(CrlfKeptInTime)
