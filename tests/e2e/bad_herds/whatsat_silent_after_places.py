"""One bug: a WHATSAT that needs Places asks Places, then its handler raises on the answer (a
name the module never defines) and the connection is closed with no reply (WHATSAT-5: the reply
to a valid WHATSAT is the stored AT line and the JSON; ERR-4: no line closes the connection).
Bound 0, which needs no Places, is still answered."""

from _base import HerdServer, main


class WhatsatSilentAfterPlaces(HerdServer):
    def places_ok(self, body: dict[str, object]) -> bool:
        # The bug: the answer is read with a module that was never imported.
        raise NameError("name 'json' is not defined")


if __name__ == "__main__":
    main(WhatsatSilentAfterPlaces)
