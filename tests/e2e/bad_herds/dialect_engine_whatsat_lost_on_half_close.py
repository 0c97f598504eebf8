"""One bug: a WHATSAT still waiting for its answer when the client half-closes is dropped, the
connection closed without a reply (FRAME-4). On a kept-open connection it is answered; IAMAT
is answered either way."""

import asyncio

from _base import HerdServer, main


class WhatsatLostOnHalfClose(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending: list[asyncio.Task[None]] = []

        async def whatsat(line: bytes) -> None:
            await asyncio.sleep(0.05)  # the time a Places call takes, at the least
            reply = await self.answer(line)
            await self.send_reply(writer, reply)

        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                if line.split()[0] == b"WHATSAT":
                    pending.append(asyncio.ensure_future(whatsat(line)))
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
        finally:
            for task in pending:
                task.cancel()
            writer.close()


if __name__ == "__main__":
    main(WhatsatLostOnHalfClose)
