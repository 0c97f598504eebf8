"""One bug: results are spaced out with empty lines "for readability" (WHATSAT-6)."""

import json

from _base import HerdServer, main


class BlankLinesInJson(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return json.dumps(body, indent=3).replace("},\n", "},\n\n").encode()


if __name__ == "__main__":
    main(BlankLinesInJson)
