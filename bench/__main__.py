"""``python -m bench ...`` (from the repository root): the same as ``bench/scep_bench.py ...``."""

from __future__ import annotations

import sys

from bench.runtime import use_project_python

use_project_python(["-m", "bench", *sys.argv[1:]])

from bench.cli import main  # noqa: E402  (after the re-execution: it imports the project's dependencies)

sys.exit(main())
