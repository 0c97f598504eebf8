"""The command line and the tools built on the other wings: ``cli`` dispatches to one module per
subcommand (``serve``, ``herd``, ``send``, ``bench``; ``validate`` and ``places-fixture`` live in
their own wings). Nothing outside this package imports it.
"""
