"""One bug: WHATSAT answers with an AT line rebuilt at query time from the stored IAMAT command:
this server's name, the time difference as of now, then the whole IAMAT command (its word
IAMAT included), so the line has seven fields and is no AT line (WHATSAT-5: the reply starts
with the stored AT line). The IAMAT reply itself is right."""

import time

from _base import HerdServer, main


class WhatsatLineFromIamat(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        command = b" ".join([b"IAMAT", *stored[1].split(b" ")[3:]])
        diff = self.time_diff(time.time(), stored[0])
        return b"AT %s %s %s" % (self.name.encode(), diff, command)


if __name__ == "__main__":
    main(WhatsatLineFromIamat)
