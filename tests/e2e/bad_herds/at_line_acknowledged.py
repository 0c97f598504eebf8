"""One bug: an AT line is acknowledged with words of the herd's own ("<server> received updated
location for <client>", no LF), written back on the connection it came on. Floods go one
connection per record and their sender never reads, so between servers the words are lost; a
client that sends an AT line reads them as a reply (FRAME-6: nothing but replies is ever written
to a client; FLOOD-6 lenient allows '?' or no reply, not this). A student herd did exactly this."""

from _base import HerdServer, main


class AtLineAcknowledged(HerdServer):
    ephemeral_links = True  # a persistent link would carry the words back to the flooding server

    async def answer(self, raw: bytes) -> list[bytes]:
        fields = self.split(self.strip_terminator(raw))
        replies = await super().answer(raw)
        if fields and fields[0] == b"AT" and not replies and len(fields) > 3:
            # the bug: an acknowledgement no client asked for
            return [b"%s received updated location for %s" % (self.name.encode(), fields[3])]
        return replies


if __name__ == "__main__":
    main(AtLineAcknowledged)
