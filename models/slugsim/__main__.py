"""``python -m slugsim`` is the ``slugsim`` command."""

import sys

from .cli import main

sys.exit(main())
