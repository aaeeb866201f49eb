"""``python -m imbfast`` runs the ``imbfast`` command."""

import sys

from imbfast.cli import main

sys.exit(main())
