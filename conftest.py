"""Root conftest: shared fixtures are registered per app (see ``pytest_plugins``); the tests that start real
processes are kept on one pytest-xdist worker.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["ca.tests.fixtures"]

#: Modules whose tests start real servers and clients (gunicorn, Celery workers, PostgreSQL clusters, nginx,
#: Chromium, certmonger, strongSwan, ``./dev serve``). Under ``./dev test`` (two xdist workers, the scheduler
#: below) they run one at a time on one worker while the other worker takes the in-process tests:
#: two of them at once on two cores would only make each slower and their timeouts tighter.
REAL_PROCESS_MODULES = (
    "portal/tests/faults/",
    "portal/tests/browser/",
    "portal/tests/test_topology.py",
    "portal/tests/test_serve_port.py",
    "portal/tests/test_front_door.py",
    "portal/tests/test_ca_worker_readiness.py",
    "portal/tests/test_scale_out.py",
    "portal/tests/test_metrics_gunicorn.py",
    "portal/tests/test_request_id_topology.py",
    "portal/tests/test_data_dir_permissions.py",
    "portal/tests/test_production_settings.py",
    "portal/tests/test_bench.py",
    "portal/tests/test_bench_scale_smoke.py",
    "enrollment/tests/clients/",
    "enrollment/tests/test_live_server.py",
    "enrollment/tests/test_hsm_enrollment.py",
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's load-scope scheduling with one scope for all of ``REAL_PROCESS_MODULES`` and one per test for
    the rest. (xdist's own ``--dist loadgroup`` rewrites ``item._nodeid``, which pytest 9 no longer reads.)
    """
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # noqa: PLC0415

    class RealProcessesTogether(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            return "real-processes" if nodeid.split("::", 1)[0].startswith(REAL_PROCESS_MODULES) else nodeid

    return RealProcessesTogether(config, log)
