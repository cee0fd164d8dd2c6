"""Runs one benchmark job in a fresh process (started by run.py; not meant to be run by hand)."""

import sys

from _harness import worker_main

if __name__ == "__main__":
    worker_main(sys.argv)
