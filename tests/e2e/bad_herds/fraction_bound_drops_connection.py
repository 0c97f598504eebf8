"""One bug (ERR-4): the bound is converted with int() outside any try, after a pattern that
lets a sign and a fraction through, so '+1' is taken (the course leaves that open) but a
WHATSAT with bound 1.5 drops the connection with no reply at all."""

import re

from _base import HerdServer, main

_LOOSE_BOUND = re.compile(rb"[+-]?[0-9]+(?:\.[0-9]+)?")


class FractionBoundDropsConnection(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and _LOOSE_BOUND.fullmatch(fields[3]):
            fields = [*fields[:3], b"%d" % int(fields[3])]  # the bug: ValueError escapes for 1.5
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(FractionBoundDropsConnection)
