"""One line of code, two deviations a client sees: WHATSAT rebuilds the AT line at query time with
the time difference as of now (every server: whatsat-reply) and this server's name (a server
that got the record by flooding names itself: whatsat-origin-named). Both are WHATSAT-5: the
reply starts with the stored AT line."""

import time

from _base import HerdServer, main


class RegeneratedAtLine(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        diff = self.time_diff(time.time(), stored[0])
        return b" ".join([b"AT", self.name.encode(), diff, *fields[3:]])


if __name__ == "__main__":
    main(RegeneratedAtLine)
