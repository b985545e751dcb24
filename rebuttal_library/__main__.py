"""`python -m rebuttal_library check|import FILE|export FILE`."""

import sys

from rebuttal_library.cli import main

sys.exit(main())
