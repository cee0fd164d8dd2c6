"""``python -m chaingrad``: the same as the ``chaingrad`` command."""

from chaingrad.cli import main

raise SystemExit(main())
