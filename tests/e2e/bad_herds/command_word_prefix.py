"""One bug: the command word is matched by its prefix (startswith), so "IAMATX ..." is taken for
an IAMAT and "WHATSATX ..." for a WHATSAT (LEX-4), as sophiasharif and douglas-hsieh did."""

from _base import HerdServer, main


class CommandWordPrefix(HerdServer):
    def command_word(self, word: bytes) -> bytes:
        for known in (b"WHATSAT", b"IAMAT"):
            if word.startswith(known):
                return known
        return word


if __name__ == "__main__":
    main(CommandWordPrefix)
