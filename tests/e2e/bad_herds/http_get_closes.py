"""One bug: a line whose first word is ``GET`` (a browser or curl pointed at the port) is taken
for a command and the connection is closed without a reply, as a herd does whose validity test
lets ``GET`` through and whose command branch then fails on the missing fields (LEX-4: an
unknown command word gets '? <line>'). Every other line is answered as usual."""

import asyncio

from _base import HerdServer, main


class HttpGetCloses(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await self.read_line(reader)
                if not line:
                    break
                if line.split()[:1] == [b"GET"]:
                    return  # the command branch raised: the connection ends, nothing written
                if self.is_blank(line):
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
                if self.ends_connection_after(line):
                    break
        finally:
            writer.close()


if __name__ == "__main__":
    main(HttpGetCloses)
