"""One bug: a bound over 20 ends the process (the herd calls sys.exit() where it meant to
refuse the line, WHATSAT-3 and ERR-4; a student herd did). invalid-bound names it; the other
checks whose lines hold such a bound (error-echo-raw's 'WHATSAT c 010 21') start the server
again and go on, so the death is named once."""

import os

from _base import HerdServer, main


class BoundOverLimitExits(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and fields[3].isdigit() and int(fields[3]) > 20:
            os._exit(1)  # the bug: sys.exit() where a '?' was meant
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(BoundOverLimitExits)
