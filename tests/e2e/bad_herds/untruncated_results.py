"""One bug: the Places results are not cut down to the bound (WHATSAT-7)."""

from _base import HerdServer, main


class UntruncatedResults(HerdServer):
    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results


if __name__ == "__main__":
    main(UntruncatedResults)
