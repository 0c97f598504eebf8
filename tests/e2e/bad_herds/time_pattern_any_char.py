"""One bug: the client time's pattern is r'^\\d+.\\d+$', whose '.' matches any character, so
'12:30' is taken as a time (LEX-6); the same pattern wants three characters or more, so '0'
and '12' are refused for their form, not their value, which LEX-6's lenient reading allows
for a time without a fraction (a student herd wrote this pattern). iamat-any-time must not
call refusing '0' a refusal of far times (IAMAT-6): '1' is refused too."""

import re

from _base import HerdServer, main

_TIME = re.compile(rb"^\d+.\d+$")


class TimePatternAnyChar(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        return _TIME.match(client_time) is not None


if __name__ == "__main__":
    main(TimePatternAnyChar)
