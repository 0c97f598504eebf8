"""Google Places for WHATSAT: the client (``client``, ``request``, ``answer``, ``google``), the
offline fixture data (``fixture_data``) and the fixture's HTTP server (``fixture_app``, run by
``fixture``). Only ``google`` and the fixture modules import aiohttp, and only when used.
"""
