"""``python -m rolecall``: the rolecall command."""

import sys

from rolecall.cli import main

sys.exit(main())
