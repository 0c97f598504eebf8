"""One bug: the results are cut only when the bound is below the number of keys in Google's
answer (a student herd's ``if len(answer) > bound``, which counts ``html_attributions``,
``results`` and ``status``): bounds 1 and 2 are honoured, bound 3 and above get every result
(WHATSAT-7)."""

from _base import HerdServer, main

#: The keys of a legacy Nearby Search answer with no next page.
ANSWER_KEYS = 3


class BoundComparedWithKeyCount(HerdServer):
    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results[:bound] if bound < ANSWER_KEYS else results


if __name__ == "__main__":
    main(BoundComparedWithKeyCount)
