"""One bug: on the client's half-close the connection is closed at once, losing a WHATSAT still
waiting for Places (FRAME-4)."""

import asyncio

from _base import HerdServer, main


class HalfCloseLosesWhatsat(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending: list[asyncio.Task[None]] = []

        async def reply(line: bytes, previous: asyncio.Task[None] | None) -> None:
            answer = await self.answer(line)
            if previous is not None:
                await previous  # replies still go out in order
            if answer:
                await self.send_reply(writer, answer)

        while line := await reader.readline():
            if self.is_blank(line):
                continue
            previous = pending[-1] if pending else None
            if line.split()[:1] == [b"WHATSAT"]:  # waits for Places: answered by a task
                pending.append(asyncio.get_running_loop().create_task(reply(line, previous)))
            else:  # answered at once, as a Protocol's data_received answers it
                await reply(line, previous)
        writer.close()  # the bug: replies still waiting for Places are lost
        for task in pending:
            task.cancel()


if __name__ == "__main__":
    main(HalfCloseLosesWhatsat)
