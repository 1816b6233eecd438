#!/usr/bin/env python3
"""``bench/scep_bench.py ...``: the benchmark's documented entry point. The harness is the ``bench``
package (``bench/README.md`` describes it, ``--help`` lists the options); ``python -m bench`` is the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, Python puts this file's directory (bench/) first on sys.path: the repository root
    # goes there instead, so that ``bench`` is the package and the project's modules are importable.
    _BENCH_DIR = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
        del sys.path[0]
    sys.path.insert(0, str(_BENCH_DIR.parent))

    from bench.runtime import use_project_python

    use_project_python(sys.argv)

    from bench.cli import main  # after the re-execution: it imports the project's dependencies

    sys.exit(main())
