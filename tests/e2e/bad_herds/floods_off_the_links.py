"""One bug, as a student herd had it: a server floods to a server that is not its neighbour in
the herd file, in place of one that is (FLOOD-4: servers talk only with their configured
neighbours). With every server up each record still reaches every server; with a pair of
servers down a neighbour never gets one (FLOOD-1), and with another pair down one server holds
a record it cannot have got over the links (FLOOD-4). flood-pairs names the first pair that
fails (FLOOD-1 here: the pairs go in the herd file's order)."""

from _base import HerdServer, main


class FloodsOffTheLinks(HerdServer):
    def __init__(self, name: str, servers: dict[str, tuple[str, int]], neighbours: list[str]) -> None:
        strangers = [other for other in sorted(servers) if other not in neighbours and other != name]
        if name == max(servers) and len(neighbours) >= 2 and strangers:
            # The last server by name sends to the first server it has no link with, never to
            # its last neighbour.
            neighbours = [*sorted(neighbours)[:-1], strangers[0]]
        super().__init__(name, servers, neighbours)


if __name__ == "__main__":
    main(FloodsOffTheLinks)
