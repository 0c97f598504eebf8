"""One intermittent bug: the first WHATSAT for an unknown client anywhere in the herd that asks
for places (a bound above 0) drops the connection, a race on first use of the Places session,
which this herd opens before it looks the client up; every later one gets "? <line>"
(WHATSAT-4). The checker must call this FLAKY, not PASS or FAIL. (The herd remembers "first" in
a marker file next to its herd file. A WHATSAT with bound 0, the checker's way of asking which
record a server holds, opens no session: records still on their way do not use the race up.)"""

import os
import sys
from pathlib import Path

from _base import HerdServer, main

MARKER = Path(sys.argv[sys.argv.index("--config") + 1]).parent / "flaky-unknown-client.marker"


class FlakyUnknownClient(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        asks_places = len(fields) == 4 and fields[3] != b"0"
        if asks_places and fields[1] not in self.table:
            try:
                os.close(os.open(MARKER, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                raise ConnectionResetError("the bug: a race on first use")
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(FlakyUnknownClient)
