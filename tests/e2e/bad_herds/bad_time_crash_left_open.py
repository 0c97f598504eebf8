"""One bug: the client time is checked with float() outside any try, and the handler that raises
leaves its connection open (nothing closes it), so an IAMAT whose time is not a number is never
answered and the client waits the whole reply timeout (LEX-6; the herd keeps running). Each
check that meets it costs one reply timeout, and its replay a short one (Target.replay_silence_s)."""

import asyncio

from _base import HerdServer, main


class BadTimeCrashLeftOpen(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        float(client_time)  # the bug: ValueError escapes the handler
        return super().time_ok(client_time)

    async def answer(self, raw: bytes) -> list[bytes]:
        try:
            return await super().answer(raw)
        except ValueError:
            # The bug's other half: the crashed handler closes nothing (an exception the event
            # loop only logs), so the client sees neither a reply nor EOF, and nothing more is
            # read from the connection. Here the handler waits for ever instead of ending.
            await asyncio.Event().wait()
            raise


if __name__ == "__main__":
    main(BadTimeCrashLeftOpen)
