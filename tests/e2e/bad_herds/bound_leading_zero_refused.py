"""A strict deviation, no bug: the bound must match ``0|[1-9][0-9]*``, so a bound with a leading
zero (``05``, ``0020``) is refused with '?'. SPEC WHATSAT-3 reads ``0020`` as 20, but the course
never sends a leading zero, so only the strict profile asks for it (limits-edges, NON-STRICT)."""

import re

from _base import HerdServer, Invalid, main

CANONICAL_BOUND_RE = re.compile(rb"0|[1-9][0-9]*")


class BoundLeadingZeroRefused(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and CANONICAL_BOUND_RE.fullmatch(fields[3]) is None:
            raise Invalid  # the deviation: '05' is refused
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(BoundLeadingZeroRefused)
