"""One bug: an AT line is answered with itself, rebuilt with single spaces, on the connection
it came on (a student herd's handler returned the message it had handled, whatever it was).
Floods go one connection per record and their sender never reads, so between servers the echo
is lost; a client that sends an AT line gets an AT line back (FLOOD-6: a flood gets no reply;
lenient allows '?' or nothing, not this)."""

from _base import HerdServer, main


class AtLineEchoed(HerdServer):
    ephemeral_links = True  # a persistent link would carry the echo back to the flooding server

    async def answer(self, raw: bytes) -> list[bytes]:
        fields = self.split(self.strip_terminator(raw))
        replies = await super().answer(raw)
        if fields and fields[0] == b"AT" and not replies:
            return [b" ".join(fields) + b"\n"]  # the bug: the line handled, sent back
        return replies


if __name__ == "__main__":
    main(AtLineEchoed)
