"""Google Places for WHATSAT: the client (legacy and new Nearby Search), the offline fixture data,
and the fixture's HTTP server. Only ``client`` and ``fixture`` import aiohttp, and only when used.
"""
