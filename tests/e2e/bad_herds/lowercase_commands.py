"""One bug: command words are upper-cased, so "iamat" is taken for "IAMAT" (LEX-4)."""

from _base import HerdServer, main


class LowercaseCommands(HerdServer):
    def command_word(self, word: bytes) -> bytes:
        return word.upper()


if __name__ == "__main__":
    main(LowercaseCommands)
