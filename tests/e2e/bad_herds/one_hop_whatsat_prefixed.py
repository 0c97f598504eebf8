"""Two bugs: records go one hop only (AT lines from neighbours go no further, FLOOD-1), and a
WHATSAT reply's first line is the stored AT line behind a second 'AT <server> <time-diff>'
made at the WHATSAT, nine fields that no server's line equals (WHATSAT-5). The servers two
hops away answer '?' for the whole propagation time: no record at all, whatever the lines of
those that hold one (a student herd did both; flood-all called it UNSUPPORTED)."""

import time

from _base import main
from one_hop_flooding import OneHopFlooding


class OneHopWhatsatPrefixed(OneHopFlooding):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        client_time = stored[1].split(b" ")[5]
        return b"AT %s %s %s" % (self.name.encode(), self.time_diff(time.time(), client_time), stored[1])


if __name__ == "__main__":
    main(OneHopWhatsatPrefixed)
