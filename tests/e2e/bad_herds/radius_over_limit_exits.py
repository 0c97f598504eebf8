"""Two bugs in one check's lines: a radius over 50 km ends the process (the herd calls
sys.exit() where it meant to refuse the line, WHATSAT-2 and ERR-4), and a radius that is no
number ('abc') raises in float(), which drops the connection with no reply (ERR-4).
invalid-radius must name both: the server is started again after the first, so the death on
51 does not hide the second (a student herd exited so)."""

import os
from decimal import Decimal

from _base import HerdServer, Invalid, main


class RadiusOverLimitExits(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4:
            radius = float(fields[2])  # the bug: ValueError on 'abc' ends the handler, no reply
            if radius > 50:
                os._exit(1)  # the bug: sys.exit() where a '?' was meant
            if Decimal(fields[2].decode()) <= 0:
                raise Invalid
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(RadiusOverLimitExits)
