"""One intermittent bug: the first WHATSAT for an unknown client anywhere in the herd drops the
connection; every later one gets "? <line>" (WHATSAT-4). The checker must call this FLAKY,
not PASS or FAIL. (The herd remembers "first" in a marker file next to its herd file.)"""

import os
import sys
from pathlib import Path

from _base import HerdServer, main

MARKER = Path(sys.argv[sys.argv.index("--config") + 1]).parent / "flaky-unknown-client.marker"


class FlakyUnknownClient(HerdServer):
    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        try:
            os.close(os.open(MARKER, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return super().lookup_missing(client)
        raise ConnectionResetError("the bug: a race on first use")


if __name__ == "__main__":
    main(FlakyUnknownClient)
