"""`python -m pipelines.cli`: the `outcomes` command."""

import sys

from . import main

sys.exit(main())
