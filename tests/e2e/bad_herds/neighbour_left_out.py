"""One bug (FLOOD-1): the hand-written neighbour table of one server leaves out one of its
neighbours (Jaquez lists only Campbell, though the herd links it with Clark too), while that
neighbour still lists it. Jaquez takes Clark's floods but never floods to Clark. With every
server running, Clark gets each record over another path (through Bona), so flood-all passes;
only with a server on that other path down does a record miss Clark. The course's herds name
their neighbours in a dict like this one, and one missing entry is an easy typo."""

from _base import HerdServer, main


class NeighbourLeftOut(HerdServer):
    def __init__(self, name: str, servers: dict[str, tuple[str, int]], neighbours: list[str]) -> None:
        if name == "Jaquez":
            neighbours = [peer for peer in neighbours if peer != "Clark"]  # the bug
        super().__init__(name, servers, neighbours)


if __name__ == "__main__":
    main(NeighbourLeftOut)
