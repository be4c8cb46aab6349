"""``python -m bench`` (or ``bench/run``): the engine's performance, side by side, in one run."""

import sys

from bench.cli import main

sys.exit(main())
