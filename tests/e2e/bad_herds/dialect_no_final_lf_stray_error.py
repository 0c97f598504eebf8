"""No bug the course forbids: one-line replies go without their final LF, and the server reads
lines until the client's EOF, taking the empty read at EOF for one more (blank) command, which it
answers '?' (the error prefix and an empty copy) before it closes. So a reply to a client that
half-closes is glued to a stray '?': b'AT ... 1700000000?'. The reply must still be judged as
the AT line it is (AT-1 lenient: no final LF before the server closes), the '?' noted, not
taken for part of the echoed client time."""

import asyncio

from _base import HerdServer, main


class NoFinalLfStrayError(HerdServer):
    one_line_replies_without_lf = True
    ephemeral_links = True  # one flood per connection: the reading loop above ends at its EOF

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await self.read_line(reader)
                if not line:
                    writer.write(b"?")  # the empty read at EOF, answered as a blank command
                    await writer.drain()
                    break
                if self.is_blank(line):
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
        except OSError:
            pass
        finally:
            writer.close()


if __name__ == "__main__":
    main(NoFinalLfStrayError)
