"""``python -m bench <name>``: run one benchmark and print its JSON figures."""

from bench.runner.cli import main

raise SystemExit(main())
