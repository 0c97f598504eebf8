"""One intermittent strict-only deviation: the first WHATSAT for an unknown client anywhere in
the herd that asks for places (a bound above 0; a bound-0 WHATSAT, the checker's way of asking
which record a server holds, takes another path) is answered '?' with the line's fields joined
by two spaces; every later '?' copies
the line exactly (ERR-2, strict: a copy with other white space is allowed by the lenient
profile). The checker calls this FLAKY, and under the lenient profile a FLAKY strict deviation
is no failure of the run (exit 0). (The herd remembers "first" in a marker file next to its
herd file.)"""

import os
import sys
from pathlib import Path

from _base import HerdServer, Invalid, main

MARKER = Path(sys.argv[sys.argv.index("--config") + 1]).parent / "flaky-unknown-client-spacing.marker"


class FlakyUnknownClientSpacing(HerdServer):
    respace_next = False
    asks_places = False

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        self.asks_places = len(fields) == 4 and fields[3] != b"0"
        return await super().on_whatsat(fields, line)

    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        if not self.asks_places:
            raise Invalid
        try:
            os.close(os.open(MARKER, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            self.respace_next = True  # the '?' for this line, next, is re-spaced
        raise Invalid

    def error_reply(self, line: bytes) -> list[bytes]:
        if self.respace_next:
            self.respace_next = False
            return [b"? " + b"  ".join(line.split()) + b"\n"]
        return super().error_reply(line)


if __name__ == "__main__":
    main(FlakyUnknownClientSpacing)
