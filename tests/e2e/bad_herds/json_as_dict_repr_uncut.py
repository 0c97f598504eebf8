"""Two bugs: the Places answer is written with str() of the parsed dict, not as JSON (WHATSAT-6),
and its results are not cut down to the bound (WHATSAT-7). The second is still there to see in
the Python repr: how many places a reply holds does not depend on how they are written."""

from _base import HerdServer, main


class JsonAsDictReprUncut(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return str(body).encode()

    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results


if __name__ == "__main__":
    main(JsonAsDictReprUncut)
