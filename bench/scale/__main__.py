"""``python -m bench.scale ...`` (from the repository root)."""

from __future__ import annotations

import sys

from bench.runtime import use_project_python

use_project_python(["-m", "bench.scale", *sys.argv[1:]])

from bench.scale.cli import main  # noqa: E402  (after the re-execution: it imports the project's dependencies)

sys.exit(main())
