"""One bug: WHATSAT matches its client ID with a stricter pattern (letters, digits, '_', '.', '-')
than IAMAT (any run of non-white-space), so a client whose ID holds other punctuation is answered
'?' when it asks for its own record (LEX-2)."""

import re

from _base import HerdServer, Invalid, main

WHATSAT_CLIENT_RE = re.compile(rb"[\w.-]+")


class WhatsatIdPatternStricter(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) > 1 and WHATSAT_CLIENT_RE.fullmatch(fields[1]) is None:
            raise Invalid
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(WhatsatIdPatternStricter)
