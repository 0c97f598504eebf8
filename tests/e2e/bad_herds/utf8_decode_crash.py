"""One bug: lines are decoded as UTF-8, so a client ID that is not valid UTF-8 drops the connection
unanswered (LEX-2)."""

import re

from _base import HerdServer, main


class Utf8DecodeCrash(HerdServer):
    def split(self, line: bytes) -> list[bytes]:
        text = line.decode()  # the bug: UnicodeDecodeError escapes the handler
        return [field.encode() for field in re.split(r"[ \t\r\n\v\f]+", text.strip(" \t\r\n\v\f"))]


if __name__ == "__main__":
    main(Utf8DecodeCrash)
