"""One bug: a herd whose floods carry the servers a record has visited (a seventh field, a
format of its own: protocol notes A13) passes an AT line without that list, a client's, on to
every neighbour as it came, newer or not, and so does each neighbour: the record goes round
the herd for ever (FLOOD-2). A student herd appended the list after the line's LF, which its
neighbours' one readline() dropped: each server relayed the line again, to every neighbour.
Records from IAMATs spread once, as they should."""

import asyncio

from _base import HerdServer, main


class ClientAtLineFloodsForever(HerdServer):
    def check_at(self, fields: list[bytes]) -> None:
        super().check_at(fields[:6] if len(fields) == 7 else fields)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        fields = at_line.split(b" ")
        if len(fields) == 6:  # a record of this server's own IAMAT: it has visited only here
            fields.append(self.name.encode())
        visited = fields[6].split(b",")
        onward = b" ".join([*fields[:6], b",".join([*visited, *(peer.encode() for peer in self.neighbours)])])
        for peer in self.neighbours:
            if peer.encode() not in visited:
                self.send_to(peer, onward + b"\n")

    def send_to(self, peer: str, data: bytes) -> None:
        """``data`` to ``peer`` as the base herd sends a flood (a connection of its own, or the link)."""
        if self.ephemeral_links:
            task = asyncio.get_running_loop().create_task(self.send_flood(peer, data))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)
        else:
            self.queues[peer].put_nowait(data)

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        line = b" ".join(fields[:6])
        client, client_time = fields[3], fields[5]
        stored = self.is_newer(client, client_time)
        if stored:
            self.table[client] = (client_time, line)
        if len(fields) == 7:
            if stored:
                await self.flood(b" ".join(fields))
            return
        for peer in self.neighbours:  # the bug: no list, so on to everyone, newer or not
            self.send_to(peer, line + b"\n")


if __name__ == "__main__":
    main(ClientAtLineFloodsForever)
