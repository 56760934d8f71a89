"""`python -m twaron ...`: the same as the `twaron` script."""

import sys

from twaron.cli import main

sys.exit(main())
