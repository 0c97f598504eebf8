"""One bug: records are flooded to every server of the herd file, not only to the linked neighbours
(FLOOD-4)."""

from _base import HerdServer, main


class FloodsNonNeighbour(HerdServer):
    def __init__(self, name: str, servers: dict[str, tuple[str, int]], neighbours: list[str]) -> None:
        super().__init__(name, servers, [other for other in servers if other != name])


if __name__ == "__main__":
    main(FloodsNonNeighbour)
