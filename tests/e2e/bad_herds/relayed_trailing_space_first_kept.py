"""Two bugs, as a student herd had them: a record that came from a neighbour is answered with a
space after its client time (as relayed_trailing_space, FLOOD-5), and a newer record from a
neighbour never replaces the one held (its comparison is the wrong way round). flood-all names
the first; with the records read squeezed, flood-newest-wins names the second past it."""

from _base import main
from relayed_trailing_space import RelayedTrailingSpace


class RelayedTrailingSpaceFirstKept(RelayedTrailingSpace):
    async def on_at(self, fields: list[bytes]) -> None:
        if len(fields) == 6 and fields[3] in self.table:
            return  # the bug: a neighbour's record of a client held already is never newer
        await super().on_at(fields)


if __name__ == "__main__":
    main(RelayedTrailingSpaceFirstKept)
