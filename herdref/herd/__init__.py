"""The reference herd: the herd file, the pure node and its location table, and the asyncio shells
around them (client server, peer links, peer authentication and TLS, the herd log).

Arrows point one way: ``state`` and ``node`` are pure and import no I/O shell; ``server`` uses
``links``, ``log`` and the pure node; nothing here imports the checker or the tools.
"""
