"""One bug: the bound is never checked against 20, so WHATSAT with bound 21 or 100 is answered (WHATSAT-3)."""

from _base import HerdServer, main


class BoundLimitMissing(HerdServer):
    def bound_ok(self, bound: int) -> bool:
        return True


if __name__ == "__main__":
    main(BoundLimitMissing)
