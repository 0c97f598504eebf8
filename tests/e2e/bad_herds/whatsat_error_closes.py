"""One bug: a WHATSAT whose radius or bound is no number gets its '? <line>' reply, and then
the server closes the connection (a student herd's handler wrote the '?' and then failed on a
variable it never set, which ended the connection): the client's next command on it is never
answered (ERR-1: after '? <line>' the connection stays open for more commands). An invalid
IAMAT leaves the connection open."""

import asyncio

from _base import BOUND_RE, RADIUS_RE, HerdServer, main


class WhatsatErrorCloses(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await self.read_line(reader)
                if not line:
                    break
                if self.is_blank(line):
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
                fields = self.strip_terminator(line).split()
                if (
                    fields[:1] == [b"WHATSAT"]
                    and len(fields) == 4
                    and (RADIUS_RE.fullmatch(fields[2]) is None or BOUND_RE.fullmatch(fields[3]) is None)
                ):
                    break  # the bug: the handler ends after that '?'
        finally:
            writer.close()


if __name__ == "__main__":
    main(WhatsatErrorCloses)
