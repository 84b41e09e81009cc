"""Run the command line: ``python -m teamd_py``."""

from teamd_py.cli import main

raise SystemExit(main())
