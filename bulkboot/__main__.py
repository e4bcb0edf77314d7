"""`python -m bulkboot` runs the same front as the `bulkboot` console script."""

import sys

from bulkboot.cli import main

sys.exit(main())
