"""One bug: records from IAMAT go to the neighbours, but AT lines from neighbours go no further (FLOOD-1)."""

from _base import HerdServer, main


class OneHopFlooding(HerdServer):
    def flood_received(self, stored: bool) -> bool:
        return False


if __name__ == "__main__":
    main(OneHopFlooding)
