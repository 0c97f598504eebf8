"""One deviation the course leaves open: the client time is validated with Decimal(), so the
forms it takes besides digits with an optional fraction (1_000, .5, 5., 1e9, -5) are accepted;
refusing them is strict only (LEX-6, SPEC decision A19), as derekvance21 and other course herds do."""

from decimal import Decimal, InvalidOperation

from _base import HerdServer, main


class DecimalTimeForms(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            return Decimal(client_time.decode()).is_finite()
        except (InvalidOperation, UnicodeDecodeError):
            return False


if __name__ == "__main__":
    main(DecimalTimeForms)
