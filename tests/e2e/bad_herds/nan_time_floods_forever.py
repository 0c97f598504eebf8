"""One bug: a record counts as newer unless its client time is less than or equal to the stored
one, as floats compare. The client time, and a flooded AT line's time difference, are validated
with float(), so nan is taken (a strict deviation, LEX-6), and nan compares false with every time,
itself included: a record with client time nan is newer every time it comes back and circles the
herd's cycles for ever (FLOOD-2: "a record crosses each link a bounded number of times"). Other
times are ordered exactly, as the base herd orders them. Bounded here so that a test host
survives it: a server relays nan records for 3 s after it first takes one."""

import time
from decimal import Decimal

from _base import main
from nan_time_accepted import NanTimeAccepted


class NanTimeFloodsForever(NanTimeAccepted):
    storm_s = 3.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.first_nan: float | None = None

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # As the time: float() reads it (the NaN this herd writes for a nan time included).
        return self.time_ok(time_diff)

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        if stored is None:
            return True
        candidate, held = Decimal(client_time.decode()), Decimal(stored[0].decode())
        if candidate.is_nan() or held.is_nan():
            # The bug: `not float(new) <= float(held)` is True whenever either is nan.
            now = time.monotonic()
            self.first_nan = self.first_nan or now
            return now - self.first_nan < self.storm_s
        return candidate > held


if __name__ == "__main__":
    main(NanTimeFloodsForever)
