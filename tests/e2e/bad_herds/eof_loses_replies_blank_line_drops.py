"""Two bugs, in the shape of a student's Twisted herd: the client's EOF ends the connection at
once, so a reply not yet written is lost (FRAME-4: after a half-close the reply still comes), and
a blank line raises IndexError (fields[0]), which drops the connection and every command after it
on that connection (FRAME-5). Commands on a connection the client keeps open are answered, one
after another. The blank-line defect must be found in the framing the herd does answer (kept
open), not read off a half-closed exchange whose reply the first defect loses."""

import asyncio

from _base import HerdServer, main

#: A reply is written this long after its command (as a herd's that waits on its floods): a
#: half-close sent with the command ends the connection before then.
_REPLY_DELAY_S = 0.05


class EofLosesRepliesBlankLineDrops(HerdServer):
    ephemeral_links = True  # a link would end at its first EOF too

    def is_blank(self, line: bytes) -> bool:
        return False  # the second bug: blank lines reach answer(), which takes fields[0]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines: asyncio.Queue[bytes] = asyncio.Queue()

        async def read_lines() -> None:
            try:
                while line := await self.read_line(reader):
                    await lines.put(line)
            finally:  # a line over the stream's limit ends the connection as EOF does
                writer.close()  # the first bug: the client's EOF closes the connection outright
                await lines.put(b"")

        reading = asyncio.create_task(read_lines())
        try:
            while line := await lines.get():
                reply = await self.answer(line)
                await asyncio.sleep(_REPLY_DELAY_S)
                if reply and not writer.is_closing():
                    await self.send_reply(writer, reply)
        finally:
            reading.cancel()
            writer.close()


if __name__ == "__main__":
    main(EofLosesRepliesBlankLineDrops)
