"""Persistent links write new records in the loop pass that stored them, while the neighbour
keeps up, and leave them to the link task (which waits for the socket to drain) when it does
not (LINK-3, LINK-5). The neighbour is a real listener on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from herdref.herd.config import ServerAddress
from herdref.herd.links import DIRECT_WRITE_LIMIT_BYTES, PeerLinks
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
