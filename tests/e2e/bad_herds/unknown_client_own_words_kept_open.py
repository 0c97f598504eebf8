"""One bug: a WHATSAT for a client the server holds no record of is answered with the herd's own
words, 'ERROR: no location for <client>', with no LF after them, instead of '? <line>'
(WHATSAT-4), from a herd that never closes its side of a connection: the client reads a reply
that neither ends nor grows."""

from _base import main
from dialect_never_closes import NeverCloses
from unknown_client_placeholder import UnknownClient, UnknownClientPlaceholder


class UnknownClientOwnWordsKeptOpen(NeverCloses, UnknownClientPlaceholder):
    async def answer(self, raw: bytes) -> list[bytes]:
        try:
            return await super(UnknownClientPlaceholder, self).answer(raw)
        except UnknownClient as unknown:
            return [b"ERROR: no location for %s" % unknown.client]


if __name__ == "__main__":
    main(UnknownClientOwnWordsKeptOpen)
