"""``python -m chaingrad``: the same as the ``chaingrad`` command."""

from .cli import main

raise SystemExit(main())
