"""Security basics (issue 10): SQL never built from values, no eval/exec, and no
network listener beyond the simulated bench's emulators on the loopback interface."""
from __future__ import annotations

import ast

import cell
from conftest import ROOT
from instruments.bench import simulated_bench
from instruments.clock import SimClock

PACKAGES = ("acquisition", "analysis", "cell", "cli", "gui", "instruments", "notebook", "resources")
# The only names SQL text may interpolate: identifiers chosen by our own code, never values.
SQL_IDENTIFIERS = {"PAGE_SIZE", "kind", "column", "target", "MIGRATIONS[target]", "APPLICATION_ID", "SCHEMA_VERSION"}


def sources():
    yield ROOT / "main.py"
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_sql_interpolates_only_our_own_identifiers():
    offenders = []
    for path in sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executemany", "executescript") and node.args
                    and isinstance(node.args[0], ast.JoinedStr)):
                used = {ast.unparse(v.value) for v in node.args[0].values if isinstance(v, ast.FormattedValue)}
                if used - SQL_IDENTIFIERS:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} interpolates {sorted(used - SQL_IDENTIFIERS)}")
    assert not offenders, offenders




def test_no_eval_or_exec_anywhere():
    calls = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not calls, calls


def test_the_simulated_bench_listens_on_loopback_only():
    bench = simulated_bench(cell.from_template("full-agc-3e"), SimClock())
    try:
        addresses = {server._server.server_address[0] for server in bench.servers.values()}
        assert addresses == {"127.0.0.1"}
    finally:
        bench.close()
