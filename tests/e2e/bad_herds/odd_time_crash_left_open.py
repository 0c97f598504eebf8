"""One bug (ERR-4): the time difference is taken from int(float(time)), which raises for nan
(ValueError) and inf (OverflowError) though float() took them, and the crashed handler leaves
its connection open, so an IAMAT whose time is nan or inf is never answered (no reply, no EOF).
Every check that sends such a time meets one silence; flood-odd-time sends three odd forms and
must not wait the whole reply timeout for each."""

import asyncio

from _base import HerdServer, main


class OddTimeCrashLeftOpen(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:  # float() takes nan, inf and 1e9 (LEX-6 lenient)
            float(client_time)
        except ValueError:
            return False
        return True

    def time_diff(self, received: float, client_time: bytes) -> bytes:
        int(float(client_time))  # the bug: nan and inf raise here, past the validation
        return super().time_diff(received, client_time)

    async def answer(self, raw: bytes) -> list[bytes]:
        try:
            return await super().answer(raw)
        except (ValueError, OverflowError):
            # The handler ends in an exception the event loop only logs and closes nothing:
            # here it waits for ever instead.
            await asyncio.Event().wait()
            raise


if __name__ == "__main__":
    main(OddTimeCrashLeftOpen)
