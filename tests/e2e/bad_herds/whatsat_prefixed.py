"""One bug: a WHATSAT reply's first line is the stored AT line behind a second
'AT <server> <time-diff>' made at the WHATSAT, nine fields that are not the stored line
(WHATSAT-5). The record is still in that line: the checks that read which record a server holds
read it there, and judge their own properties (a student herd's line so made flood-stale-not-sent
misjudge what its servers held)."""

import time

from _base import HerdServer, main


class WhatsatPrefixed(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        client_time = stored[1].split(b" ")[5]
        return b"AT %s %s %s" % (self.name.encode(), self.time_diff(time.time(), client_time), stored[1])


if __name__ == "__main__":
    main(WhatsatPrefixed)
