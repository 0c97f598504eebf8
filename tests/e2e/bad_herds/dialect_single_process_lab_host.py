"""Dialect, no bug: one program serves every server of the herd file (a single-process herd),
and it binds every port on all interfaces whatever host the herd file names (a file written for
the lab machines). Check it with a --launch template without {name} and --connect-host.

Run:  python3 dialect_single_process_lab_host.py --config herd.toml
"""

import argparse
import asyncio
import tomllib

from _base import HerdServer

_LOOPBACK = "127.0.0.1"


async def serve_all(document: dict[str, dict]) -> None:
    # Neighbours are reached on this machine: the names in the file are for the lab.
    servers = {name: (_LOOPBACK, entry["port"]) for name, entry in document["servers"].items()}
    pairs = document.get("links", {}).get("pairs", [])
    listeners = []
    for name in servers:
        neighbours = [b if a == name else a for a, b in pairs if name in (a, b)]
        server = HerdServer(name, servers, neighbours)
        listeners.append(await asyncio.start_server(server.handle, "0.0.0.0", servers[name][1]))
        for peer in neighbours:
            asyncio.get_running_loop().create_task(server.link(peer))
    await asyncio.gather(*(listener.serve_forever() for listener in listeners))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    with open(parser.parse_args().config, "rb") as file:
        asyncio.run(serve_all(tomllib.load(file)))
