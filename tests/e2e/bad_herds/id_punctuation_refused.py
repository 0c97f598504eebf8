"""One bug (LEX-2): client IDs must match ``[A-Za-z0-9_.]+``, so an ID with '-', ':' or any other
punctuation (any non-white-space string is a client ID) gets '?'."""

import re

from _base import HerdServer, Invalid, main

_CLIENT_ID = re.compile(rb"[A-Za-z0-9_.]+")


class IdPunctuationRefused(HerdServer):
    def check_fields(self, fields: list[bytes], count: int) -> None:
        super().check_fields(fields, count)
        if fields[0] in (b"IAMAT", b"WHATSAT") and _CLIENT_ID.fullmatch(fields[1]) is None:
            raise Invalid


if __name__ == "__main__":
    main(IdPunctuationRefused)
