"""One bug: WHATSAT rebuilds the AT line at query time (this server's name, the time difference as
of now) (WHATSAT-5)."""

import time

from _base import HerdServer, main


class RegeneratedAtLine(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        diff = self.time_diff(time.time(), stored[0])
        return b" ".join([b"AT", self.name.encode(), diff, *fields[3:]])


if __name__ == "__main__":
    main(RegeneratedAtLine)
