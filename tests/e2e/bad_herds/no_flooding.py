"""One bug: flooding was never written ("TODO: communicate between servers"): each server keeps
the records of its own clients and sends nothing to its neighbours (FLOOD-1)."""

from _base import HerdServer, main


class NoFlooding(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        return None


if __name__ == "__main__":
    main(NoFlooding)
