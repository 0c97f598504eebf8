"""Persistent links write new records in the loop pass that stored them, while the neighbour
keeps up, and leave them to the link task (which waits for the socket to drain) when it does
not (LINK-3, LINK-5). The neighbour is a real listener on loopback."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from herdref.herd.config import ServerAddress
from herdref.herd.links import DIRECT_WRITE_LIMIT_BYTES, PeerLinks
from herdref.herd.listen import accept_waiting
from herdref.herd.log import HerdLog
from herdref.herd.node import HerdNode, Session

DEADLINE_S = 5.0


@dataclass
class Neighbour:
    """A listener standing in for server B: it keeps every line it receives."""

    lines: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            self.lines.append(line.rstrip(b"\n"))
            self.arrived.set()
        writer.close()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(DEADLINE_S):
            while len(self.lines) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def linked() -> AsyncIterator[tuple[HerdNode, PeerLinks, Neighbour]]:
    neighbour = Neighbour()
    listener = await asyncio.start_server(neighbour.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    node = HerdNode("A", ["B"])
    links = PeerLinks(
        node, {"B": ServerAddress("127.0.0.1", port)}, mode="persistent", herd_log=HerdLog(None)
    )
    links.start()
    await neighbour.wait_for(1)  # the PEER greeting: the link is up
    # Set in the same step that wrote the greeting, so it is there once the greeting arrived.
    assert links.by_neighbour["B"]._writer is not None
    yield node, links, neighbour
    await links.close()
    listener.close()
    await listener.wait_closed()


def store(node: HerdNode, links: PeerLinks, client: bytes) -> bytes:
    reaction = node.receive(Session(), b"IAMAT %s +1+2 1700000000.5" % client, 1_700_000_001_000_000_000)
    assert reaction.reply is not None and reaction.flood_to == ("B",)
    links.wake(reaction.flood_to)
    return reaction.reply.rstrip(b"\n")


async def test_records_of_one_pass_leave_in_that_pass_in_one_write(
    linked: tuple[HerdNode, PeerLinks, Neighbour],
) -> None:
    node, links, neighbour = linked
    link = links.by_neighbour["B"]
    sent_before = link.lines_sent
    at_lines = [store(node, links, b"c%d" % number) for number in range(3)]
    assert link.lines_sent == sent_before  # nothing written per record...
    await asyncio.sleep(0)  # ...but all of them once this loop pass ends
    assert link.lines_sent == sent_before + 3
    assert node.pending("B") == 0
    await neighbour.wait_for(4)
    assert neighbour.lines[1:] == at_lines


async def test_a_backed_up_link_leaves_records_to_its_task(
    linked: tuple[HerdNode, PeerLinks, Neighbour], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, links, neighbour = linked
    link = links.by_neighbour["B"]
    writer = link._writer
    assert writer is not None
    # As if the neighbour had stopped reading: more than the limit waits in the send buffer.
    monkeypatch.setattr(writer.transport, "get_write_buffer_size", lambda: DIRECT_WRITE_LIMIT_BYTES + 1)
    sent_before = link.lines_sent
    at_line = store(node, links, b"late")
    await asyncio.sleep(0)
    assert link.lines_sent == sent_before  # not written in the storing pass
    monkeypatch.undo()
    await neighbour.wait_for(2)  # the woken link task wrote it (and waited for the drain)
    assert neighbour.lines[1:] == [at_line]
    assert node.pending("B") == 0


@dataclass
class ChattyNeighbour(Neighbour):
    """Server B that answers its first link connection with ``first_words`` (no LF) before
    reading, as a broken or hostile neighbour might; later connections are ordinary."""

    first_words: bytes = b""
    connections: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections == 1:
            writer.write(self.first_words)
            await writer.drain()
        await super().serve(reader, writer)


async def test_a_line_longer_than_the_stream_limit_does_not_end_the_link() -> None:
    # CATCHUP-4: the opener ignores what its neighbour writes on the link. 70 000 octets
    # without LF used to raise ValueError out of readline(), ending the link task for good.
    neighbour = ChattyNeighbour(first_words=b"x" * 70_000)
    listener = await asyncio.start_server(neighbour.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    node = HerdNode("A", ["B"])
    links = PeerLinks(
        node, {"B": ServerAddress("127.0.0.1", port)}, mode="persistent", herd_log=HerdLog(None)
    )
    links.start()
    try:
        await neighbour.wait_for(1)  # the greeting
        # Give the link the chance to read the 70 000 octets before the record is stored.
        async with asyncio.timeout(DEADLINE_S):
            # The link counts what it read; it has no event to wait on.
            while links.by_neighbour["B"].bytes_read < 70_000:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        at_line = store(node, links, b"after-long-line")
        await neighbour.wait_for(2)
        assert at_line in neighbour.lines
        assert not links.by_neighbour["B"]._task.done()  # type: ignore[union-attr]
    finally:
        await links.close()
        listener.close()
        await listener.wait_closed()


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
async def test_a_link_task_that_raises_is_logged_and_restarted(
    mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Only cancellation may end a link task: a bug outside the handled failures (here the
    # backoff itself raising, once) is logged and the link starts over.
    neighbour = Neighbour()
    listener = await asyncio.start_server(neighbour.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()  # nothing listens: the first attempt fails and backs off
    node = HerdNode("A", ["B"])
    links = PeerLinks(node, {"B": ServerAddress("127.0.0.1", port)}, mode=mode, herd_log=HerdLog(None))
    link = links.by_neighbour["B"]
    real_back_off = link._back_off
    crashed = asyncio.Event()

    async def back_off_that_raises_once(delay_s: float) -> float:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("a bug in the link")
        return await real_back_off(delay_s)

    monkeypatch.setattr(link, "_back_off", back_off_that_raises_once)
    links.start()
    listener = None
    try:
        async with asyncio.timeout(DEADLINE_S):
            await crashed.wait()
        listener = await asyncio.start_server(neighbour.serve, "127.0.0.1", port)
        at_line = store(node, links, b"after-crash")
        await neighbour.wait_for(2)
        assert at_line in neighbour.lines
        assert any("a bug in the link" in str(record.exc_info) for record in caplog.records)
    finally:
        await links.close()
        if listener is not None:
            listener.close()
            await listener.wait_closed()


class ReplyTransport(asyncio.Transport):
    """A client's transport that calls ``on_write`` when the server writes its reply."""

    def __init__(self, on_write: Callable[[], object]) -> None:
        super().__init__()
        self.on_write = on_write

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.on_write()

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


async def test_floods_leave_before_the_reply_of_the_read_that_made_them(
    linked: tuple[HerdNode, PeerLinks, Neighbour],
) -> None:
    # FLOOD-7: the server writes a persistent link's records before the AT reply, so a WHATSAT
    # sent to the neighbour as soon as the reply arrives has the best chance to find them.
    from herdref.herd.config import parse_config
    from herdref.herd.server import ClientConnection, HerdServer

    node, links, neighbour = linked
    server = HerdServer(parse_config("[servers]\nA = { port = 9 }\n"), "A", places=None)  # type: ignore[arg-type]
    server.node, server.links = node, links
    order: list[str] = []
    link = links.by_neighbour["B"]
    assert link._writer is not None
    real_flush = link.flush

    def noted_flush() -> None:
        order.append("flood")
        real_flush()

    link.flush = noted_flush  # type: ignore[method-assign]

    connection = ClientConnection(server)
    connection.connection_made(ReplyTransport(lambda: order.append("reply")))
    line = b"IAMAT first +1+2 1700000000.5\n"
    server.read_view[: len(line)] = line
    connection.buffer_updated(len(line))
    assert order == ["flood", "reply"]
    await neighbour.wait_for(2)  # and the flood did reach the neighbour


async def test_ephemeral_floods_reach_the_neighbour_before_the_reply_is_written() -> None:
    # FLOOD-7 in ephemeral mode: the link connects and hands the records to the kernel in the
    # pass that stored them, so they wait in the neighbour's receive buffer before the reply.
    from herdref.herd.config import parse_config
    from herdref.herd.server import ClientConnection, HerdServer

    with socket.create_server(("127.0.0.1", 0)) as neighbour:
        neighbour.setblocking(False)
        port = neighbour.getsockname()[1]
        node = HerdNode("A", ["B"])
        links = PeerLinks(
            node, {"B": ServerAddress("127.0.0.1", port)}, mode="ephemeral", herd_log=HerdLog(None)
        )
        server = HerdServer(parse_config("[servers]\nA = { port = 9 }\n"), "A", places=None)  # type: ignore[arg-type]
        server.node, server.links = node, links
        links.start()
        try:
            # The link's first connection greets B (PEER-1); then the link is idle and healthy.
            async with asyncio.timeout(DEADLINE_S):
                greeting, _ = await asyncio.get_running_loop().sock_accept(neighbour)
                for _pass in itertools.count():  # a few loop passes until it waits for work
                    if links.by_neighbour["B"]._ephemeral_idle:
                        break
                    await asyncio.sleep(0)
            greeting.close()
            received_before_reply: list[bytes] = []

            def read_neighbour() -> None:
                for connection in accept_waiting(neighbour):
                    with connection:
                        received_before_reply.append(connection.recv(65536))

            connection = ClientConnection(server)
            connection.connection_made(ReplyTransport(read_neighbour))
            line = b"IAMAT first +1+2 1700000000.5\n"
            server.read_view[: len(line)] = line
            connection.buffer_updated(len(line))
            assert len(received_before_reply) == 1
            greeting_line, at_line, rest = received_before_reply[0].split(b"\n")
            assert greeting_line.startswith(b"PEER A ") and rest == b""
            assert at_line.startswith(b"AT A ") and b" first +1+2 1700000000.5" in at_line
        finally:
            await links.close()
