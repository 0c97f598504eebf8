"""No bug the course forbids: the server reads lines until the client's EOF and takes the empty
read at EOF for one more (blank) command, which it answers '? ' with no LF before it closes. So
every reply to a client that half-closes is followed by a stray '? ', the way FRAME-5 lenient
lets a blank line be answered. Each reply must still be judged for itself, at once, not after
the whole reply timeout spent waiting for the stray line's end."""

import asyncio

from _base import HerdServer, main


class StrayErrorAtEof(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await self.read_line(reader)
                if not line:
                    writer.write(b"? ")  # the empty read at EOF, answered as a blank command
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
    main(StrayErrorAtEof)
