"""`python -m host_tools.cli`: the edgemeter command, as the console script runs it."""

import sys

from host_tools.cli.program import main

sys.exit(main())
