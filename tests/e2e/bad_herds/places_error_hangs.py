"""One bug: a Places answer that is no JSON object (an HTTP 500, a body that is not JSON) makes
the server wait for good on a queue nothing fills, inside its event loop (a student herd: a
blocking ``queue.get()``), so the server keeps its port but answers nothing ever after (ERR-4:
the server never hangs). Its port still accepts connections: only a command shows the hang."""

import queue
from decimal import Decimal

from _base import HerdServer, main


class PlacesErrorHangs(HerdServer):
    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        try:
            return await super().places(location, radius)
        except self.places_errors:
            queue.Queue[object]().get()  # the bug: blocks the event loop for good
            raise


if __name__ == "__main__":
    main(PlacesErrorHangs)
