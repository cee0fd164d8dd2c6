"""``chaingrad playground [--port N] [--host 127.0.0.1] [--no-browser]``."""

from __future__ import annotations

import argparse
import sys
import webbrowser

HELP = "train networks in the browser and see the graph of any point (Ctrl-C stops)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0,
                        help="the port to listen on (default: any free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: 127.0.0.1, this computer "
                             "only)")
    parser.add_argument("--no-browser", action="store_true",
                        help="print the address but do not open a browser")


def run(arguments: argparse.Namespace) -> int:
    from .server import Playground, is_loopback

    if not 0 <= arguments.port <= 65535:
        print(f"chaingrad playground: --port must be 0 to 65535, got {arguments.port}.",
              file=sys.stderr)
        return 2
    try:
        playground = Playground(arguments.host, arguments.port)
    except OSError as error:
        print(f"chaingrad playground: cannot listen on {arguments.host}:{arguments.port} "
              f"({error.strerror or error}).", file=sys.stderr)
        return 2
    print(f"The playground is at {playground.url}  (Ctrl-C stops it)", flush=True)
    if not is_loopback(arguments.host):
        print(f"Note: listening on {arguments.host}, so other computers can reach it too.",
              flush=True)
    if not arguments.no_browser:
        webbrowser.open(playground.url)
    try:
        playground.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        playground.stop()
    return 0
