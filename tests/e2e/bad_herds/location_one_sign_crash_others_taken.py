"""Two bugs on one code path's two branches: a location with no second sign ('+34.068930',
'34.068930-118.445127' read from its first digit) raises IndexError, which drops the
connection with no reply (ERR-4), while locations that are no numbers ('+abc-def') or start
with a digit ('5+34-118') are taken (LEX-5): the location is cut at its signs and never parsed.
invalid-location must name both kinds: the crash first seen must not hide the lines taken (a
student herd did both)."""

import re

from _base import HerdServer, main

_SIGNED = re.compile(rb"[+-][^+-]*")


class LocationOneSignCrashOthersTaken(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        parts = _SIGNED.findall(location)
        parts[1]  # the bug: IndexError where there is no second signed part
        return True  # the bug: never parsed


if __name__ == "__main__":
    main(LocationOneSignCrashOthersTaken)
