"""One bug: a client's half-close loses the reply, for IAMAT and WHATSAT alike. The server
answers one command per connection (FRAME-3 lenient) and takes the client's EOF, when it comes
right after the command, for the end of the connection: the command is carried out (stored,
flooded) but its reply is never written (a student herd whose Protocol let eof_received close
the transport before the reply was written). FRAME-4: after a half-close the reply still comes.
One defect: the WHATSAT reply lost the same way is not named again."""

import asyncio

from _base import HerdServer, main

#: How long after the command the server looks for the client's EOF: a half-close sent with
#: the command arrives within it; a client that keeps the connection open gets its reply.
_EOF_WINDOW_S = 0.05


class HalfCloseLosesReplies(HerdServer):
    single_shot = True
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await self.read_line(reader)
            if not line or self.is_blank(line):
                return
            try:
                ended = await asyncio.wait_for(reader.read(1), _EOF_WINDOW_S) == b""
            except TimeoutError:
                ended = False
            reply = await self.answer(line)
            if reply and not ended:  # the bug: at the client's EOF the reply is dropped
                await self.send_reply(writer, reply)
        finally:
            writer.close()


if __name__ == "__main__":
    main(HalfCloseLosesReplies)
