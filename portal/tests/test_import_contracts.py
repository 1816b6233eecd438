"""The import contracts of pyproject.toml ([tool.importlinter]) hold, fail on a deliberate violation, and
the code has no import cycles other than type-only ones.

A violation is made by adding one import edge to the real graph of the code (import-linter's graph
builder is wrapped), so each test proves that its contract would catch exactly that mistake.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter.application import use_cases
from importlinter.application.app_config import settings as importlinter_settings
from importlinter.application.use_cases import create_report, read_user_options
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = str(ROOT / "pyproject.toml")
PACKAGES = (
    "core",
    "eventlog",
    "ca",
    "directory",
    "profiles",
    "enrollment",
    "notifications",
    "access",
    "audit",
    "portal",
)

configure()
use_cases._register_built_in_contract_types()  # what lint_imports does first; there is no public call for it


@pytest.fixture(autouse=True)
def _on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))


def _report(extra_imports: tuple[tuple[str, str], ...] = ()):
    builder = importlinter_settings.GRAPH_BUILDER

    class WithExtraImports:
        def build(self, **kwargs):
            graph = builder.build(**kwargs)
            for importer, imported in extra_imports:
                graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="test")
            return graph

    importlinter_settings.configure(GRAPH_BUILDER=WithExtraImports())
    try:
        return create_report(read_user_options(PYPROJECT), cache_dir=None)
    finally:
        importlinter_settings.configure(GRAPH_BUILDER=builder)


def _broken(report) -> set[str]:
    return {contract.name for contract, check in report.get_contracts_and_checks() if not check.kept}


def _names() -> dict[str, str]:
    options = read_user_options(PYPROJECT)
    return {contract["id"]: contract["name"] for contract in options.contracts_options}


def test_every_contract_is_kept():
    report = _report()
    assert not report.contains_failures, _broken(report)
    assert report.kept_count == len(_names()) == 8


@pytest.mark.parametrize(
    ("contract", "importer", "imported"),
    [
        ("ca-independent", "ca.models", "portal.celery"),
        ("ca-independent", "ca.services.submission", "profiles.models"),
        ("core-independent", "core.services", "ca.models"),
        ("core-independent", "core.models", "eventlog.models"),
        ("eventlog-independent", "eventlog.services", "ca.models"),
        ("eventlog-independent", "eventlog.models", "enrollment.models"),
        ("eventlog-independent", "eventlog.services", "audit.services.pruning"),
        ("ca-independent", "ca.services.issuance", "audit.models"),
        ("web-tier-no-ca-side", "audit.api.views", "ca.tasks"),
        ("directory-below-profiles", "directory.models", "profiles.models"),
        ("profiles-below-enrollment", "profiles.models", "enrollment.models"),
        ("profiles-below-enrollment", "profiles.scep_verifier", "enrollment.views"),
        ("enrollment-no-profiles", "enrollment.models", "profiles.models"),
        ("web-tier-no-ca-side", "enrollment.views", "ca.tasks"),
        ("web-tier-no-ca-side", "ca.services.submission", "ca.key_backends"),
        ("web-tier-no-ca-side", "profiles.services.devices", "ca.services.revocation"),
        ("pure-libraries", "enrollment.scep.message", "django"),
        ("pure-libraries", "ca.crypto.builders", "celery"),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(contract, importer, imported):
    report = _report(((importer, imported),))
    assert _names()[contract] in _broken(report)  # (an edge may break others too: ca.models -> portal
    # makes every app that imports ca.models reach the project)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def successors(module: str) -> Iterator[str]:
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, successors(start))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, successors(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)


def test_there_is_no_import_cycle_other_than_type_only_ones():
    assert sys.path[0] == str(ROOT)
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    graph = _graph()
    graph.add_import(importer="ca.models", imported="ca.services.issuance")
    assert sorted(
        {module for cycle in _cycles(graph) for module in cycle} & {"ca.models", "ca.services.issuance"}
    ) == ["ca.models", "ca.services.issuance"]
