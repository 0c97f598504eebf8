"""Dialect, no bug: one program serves every server of the herd file, each on its own port, with
the same flooding between them over TCP (run: dialect_single_process.py --config herd.toml)."""

import argparse
import asyncio
import os

from _base import HerdServer, load_herd, neighbours_of


async def serve_all(config: str) -> None:
    servers, pairs = load_herd(config)
    herd = [HerdServer(name, servers, neighbours_of(name, pairs)) for name in servers]
    await asyncio.gather(*(server.serve() for server in herd))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=os.environ.get("HERD_CONFIG", "herd.toml"))
    asyncio.run(serve_all(parser.parse_args().config))
