"""One bug: Places results are always cut to 5, whatever the bound (WHATSAT-7 for bounds under 5,
PLACES-3 above)."""

from _base import HerdServer, main


class FixedResultCount(HerdServer):
    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results[:5]


if __name__ == "__main__":
    main(FixedResultCount)
