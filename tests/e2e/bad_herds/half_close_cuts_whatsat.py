"""One bug: a WHATSAT reply's AT line is written at once and its JSON once Places answers (as an
``asyncio.Protocol`` herd writes from ``data_received`` and from a task), and the connection is
closed when the client's EOF comes (``Protocol.eof_received``'s default), so a client that
half-closes gets the AT line and then EOF: the JSON and the empty line are lost (FRAME-4)."""

import asyncio
from contextvars import ContextVar

from _base import HerdServer, main

#: The connection the WHATSAT being answered came on (each reply task has its own copy).
_WRITER: ContextVar[asyncio.StreamWriter] = ContextVar("writer")


class HalfCloseCutsWhatsat(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        _WRITER.get().write(stored[1] + b"\n")  # the AT line leaves before the Places call
        return stored[1]

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [body + b"\n\n"]  # the AT line is already written

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending: list[asyncio.Task[None]] = []

        async def reply(line: bytes) -> None:
            answer = await self.answer(line)
            if answer and line.split()[:1] == [b"WHATSAT"] and not answer[0].startswith(b"?"):
                # The JSON leaves a Places round trip after the AT line, for bound 0 too (as
                # herds that ask Places for every WHATSAT do): this pause stands for it.
                await asyncio.sleep(0.05)
            if answer:
                await self.send_reply(writer, answer)

        _WRITER.set(writer)
        while line := await reader.readline():
            if self.is_blank(line):
                continue
            if line.split()[:1] == [b"WHATSAT"]:  # answered by a task, as data_received would
                pending.append(asyncio.get_running_loop().create_task(reply(line)))
                await asyncio.sleep(0)  # the task writes the AT line, then waits for Places
            else:
                await reply(line)
        await self.at_eof(writer, pending)

    async def at_eof(self, writer: asyncio.StreamWriter, pending: list[asyncio.Task[None]]) -> None:
        """The client's EOF: the connection is closed at once."""
        writer.close()  # the bug: what still waits for Places is lost
        for task in pending:
            task.cancel()


if __name__ == "__main__":
    main(HalfCloseCutsWhatsat)
