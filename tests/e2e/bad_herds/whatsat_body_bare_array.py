"""One bug: the WHATSAT reply's body is the bare results array ('[...]', '[]' for bound 0), not the
Places JSON object (WHATSAT-6: the JSON text is one JSON object)."""

import json
import re

from _base import HerdServer, main


class WhatsatBodyBareArray(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        text = json.dumps(body.get("results", []), indent=3)
        return re.sub(r"\n+", "\n", text).strip("\n").encode()


if __name__ == "__main__":
    main(WhatsatBodyBareArray)
