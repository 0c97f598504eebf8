"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and client IDs must match
``[A-Za-z0-9_.]+``, so an ID with '-', ':' or any other punctuation gets '?' (LEX-2). The second
is judged through the first: lex-id-punctuation reads a '?' as an ID refused, whatever the
herd's AT lines look like."""

from _base import main
from id_punctuation_refused import IdPunctuationRefused


class AtReplyWithoutClientIdPunctuationRefused(IdPunctuationRefused):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientIdPunctuationRefused)
