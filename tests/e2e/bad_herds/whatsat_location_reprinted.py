"""One deviation, strict only: the AT line a WHATSAT reply starts with carries the stored
location re-printed from floats (``+34.0037-118.0`` for ``+34.003700-118.000000``), while the
IAMAT reply echoed it as sent (a student herd keeps each report's numbers and rebuilds the line).
Octet-exact copies are strict, numeric equality lenient (WHATSAT-5, decision A6)."""

import re

from _base import HerdServer, main

_COORDINATES = re.compile(rb"([+-][0-9]+(?:\.[0-9]+)?)([+-][0-9]+(?:\.[0-9]+)?)")


class WhatsatLocationReprinted(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        match = _COORDINATES.fullmatch(fields[4])
        if match is not None:
            latitude, longitude = (float(part) for part in match.groups())
            fields[4] = f"{latitude:+}{longitude:+}".encode()
        return b" ".join(fields)


if __name__ == "__main__":
    main(WhatsatLocationReprinted)
