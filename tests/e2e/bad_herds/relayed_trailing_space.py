"""One bug: a record that came from a neighbour is answered with a space after its client time
(the herd keeps the line of its own flood message, FLOOD-5; a student herd did). flood-all
names it; the records read with their white space squeezed, every check that needs flooding
still judges its own property, and passes."""

from _base import main
from flooded_record_glued import KnowsFloodedRecords


class RelayedTrailingSpace(KnowsFloodedRecords):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        return stored[1] + b" " if client in self.flooded else stored[1]


if __name__ == "__main__":
    main(RelayedTrailingSpace)
