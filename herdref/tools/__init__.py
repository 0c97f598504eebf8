"""The command line and the tools built on the other wings: ``cli`` dispatches to one module per
subcommand (``serve``, ``herd``, ``send``, ``bench``, ``validate``, ``grade``,
``gradescope-bundle``; ``places-fixture`` is run by ``herdref.places.fixture``). Only the tools
wing (this package and ``herdref.grading``) imports it.
"""
