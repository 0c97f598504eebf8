"""One bug: every AT line received is relayed again, known or not, so records circle the herd
forever (FLOOD-2)."""

from _base import HerdServer, main


class FloodLoop(HerdServer):
    def flood_received(self, stored: bool) -> bool:
        return True


if __name__ == "__main__":
    main(FloodLoop)
