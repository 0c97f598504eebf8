"""One bug: the AT reply is built from the raw IAMAT line, the word IAMAT replaced by
'AT <server> <time-diff>' and the rest kept as received, so a line with extra white space gets
an AT reply whose fields are joined by that white space (AT-1; a student herd built it so). The
line is taken as the same command (LEX-3 holds); lex-extra-space names the reply."""

import re

from _base import HerdServer, main

IAMAT_WORD = re.compile(rb"^[ \t\x0b\x0c\r]*IAMAT")


class AtReplyKeepsClientSpacing(HerdServer):
    async def answer(self, raw: bytes) -> list[bytes]:
        replies = await super().answer(raw)
        line = self.strip_terminator(raw)
        word = IAMAT_WORD.match(line)
        if word is None or len(replies) != 1 or not replies[0].startswith(b"AT "):
            return replies
        head = b" ".join(replies[0].split()[:3])  # AT <server> <time-diff>
        rest = line[word.end() :].rstrip(b" \t\x0b\x0c\r")
        return [head + rest + b"\n"]


if __name__ == "__main__":
    main(AtReplyKeepsClientSpacing)
