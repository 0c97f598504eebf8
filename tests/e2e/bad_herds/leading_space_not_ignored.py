"""One bug: a single-shot herd (one read per connection, then close) that tells commands apart by
what the read starts with, so white space before the command word makes a valid command
invalid (LEX-3: leading white space is ignored)."""

from _base import main
from dialect_one_read import OneRead


class LeadingSpaceNotIgnored(OneRead):
    def split(self, line: bytes) -> list[bytes]:
        if line[:1].isspace():
            return [line]  # message.startswith("IAMAT") is False: not a command word
        return line.split()


if __name__ == "__main__":
    main(LeadingSpaceNotIgnored)
