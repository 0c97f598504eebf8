"""One bug: a WHATSAT for a client the server does not know ends the whole server process
(``sys.exit(1)`` after printing that the location has not been recorded, as a student herd
does; WHATSAT-4, ERR-4). The checker's own WHATSATs that ask whether a flooded record has
arrived yet are such WHATSATs until it has: the flood checks must not name a missing flood."""

import sys

from _base import HerdServer, main


class UnknownClientExits(HerdServer):
    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        print(f"{client.decode(errors='replace')}'s location has not been recorded!", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main(UnknownClientExits)
