"""``make mutation``: mutmut 3 over the core modules, one module at a time with that module's fast tests.

Each module runs in a scratch copy of the work tree (tracked and untracked-but-not-ignored files)
whose ``[tool.mutmut]`` names only that module and its tests, so modules do not share a test map and
the repository gets no ``mutants/`` folder. Per module it prints mutants, killed, equivalent (listed
in ``tests/mutation/equivalent.md`` as ``module: mutant-name: reason``), survived and % killed of
the non-equivalent ones::

    .venv/bin/python tests/mutation/run.py                       # every module (long: hours on 2 cores)
    .venv/bin/python tests/mutation/run.py retrieval/bm25.py     # one module
    .venv/bin/python tests/mutation/run.py --json out.json retrieval/fusion.py

numba kernels (``retrieval/_fde_kernels.py``) are not mutated: mutmut leaves decorated functions
alone, and a jitted kernel would ignore its trampoline; the Python wrappers in ``retrieval/fde.py``
are mutated, and the kernels are checked against per-token numpy references in tests/retrieval/test_fde.py.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("equivalent.md")

# module -> the fast tests that exercise it (pytest arguments), smallest and most valuable first
MODULES: dict[str, list[str]] = {
    "retrieval/fusion.py": ["tests/retrieval/test_fusion.py"],
    "retrieval/metrics.py": ["tests/retrieval/test_metrics.py", "-k", "not fixture_index and not scifact"],
    "retrieval/bm25.py": ["tests/retrieval/test_bm25.py"],
    "index/versions.py": ["tests/index/test_index_root.py"],
    "agents/grounding.py": ["tests/agents/test_grounding.py", "tests/agents/test_grounding_edges.py"],
    "agents/eval.py": ["tests/agents/test_eval.py", "tests/agents/test_eval_scoring.py"],
    "agents/mp/filters.py": ["tests/agents/mp/test_server.py", "tests/agents/mp/test_mp_semantics.py",
                             "tests/agents/mp/test_query_params.py"],
    "agents/mp/documents.py": ["tests/agents/mp/test_snapshot.py", "tests/agents/mp/test_server.py",
                               "tests/agents/mp/test_mp_semantics.py", "-k", "not ensure_builds_the_real"],
    "retrieval/search.py": ["tests/retrieval/test_search.py", "tests/retrieval/test_muvera_candidates.py"],
    "retrieval/fde.py": ["tests/retrieval/test_fde.py"],
    "workers/hosting.py": ["tests/workers/test_hosting.py", "tests/workers/test_hosting_oracle.py", "-m", "not slow"],
}
# torch and numba's thread pools are not fork-safe: their tests run in workers forked from a clean server
FORKSERVER = {"workers/hosting.py", "retrieval/search.py", "retrieval/fde.py"}
# a mutant is detected when its tests fail, hang past mutmut's timeout, or crash the test process (a numba kernel
# handed inconsistent sizes by a mutated wrapper segfaults instead of raising); "suspicious" exit codes stay survivors
DETECTED = {"killed", "timeout", "segfault"}
# modules where only some functions are in scope (mutant-name globs): hosting's decode loop
NAMES: dict[str, list[str]] = {
    "workers/hosting.py": ["*ǁ_decode__mutmut_*", "*x__pick__mutmut_*", "*x__hold_stops__mutmut_*", "*Detokenizer*"],
}


def equivalent() -> dict[str, set[str]]:
    """``module -> mutant names`` declared equivalent in equivalent.md (lines ``- `name`: reason``)."""
    out: dict[str, set[str]] = {}
    module = None
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.is_file() else []:
        if line.startswith("## "):
            module = line[3:].strip().strip("`")
        elif module and (m := re.match(r"- `([^`]+)`", line)):
            out.setdefault(module, set()).add(m.group(1))
    return out


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def scratch_copy(module: str, tests: list[str]) -> Path:
    """A copy of the work tree whose mutmut config mutates ``module`` and runs ``tests``."""
    tmp = Path(tempfile.mkdtemp(prefix="matlas-mutation-"))
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for name in files:
        src = ROOT / name
        if src.is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / name)
    pyproject = (tmp / "pyproject.toml").read_text()
    config = tomllib.loads(pyproject)["tool"]["mutmut"]
    section = pyproject[pyproject.index("[tool.mutmut]"):]
    end = re.search(r"\n\[(?!tool\.mutmut)", section)
    section = section[: end.start() + 1] if end else section
    selection = [t for t in tests if not t.startswith("-") and "/" in t]
    options = [t for t in tests if t not in selection]
    new = "\n".join([
        "[tool.mutmut]",
        f"source_paths = {_toml_list(config['source_paths'])}",
        f"only_mutate = {_toml_list([module])}",
        f"also_copy = {_toml_list(config.get('also_copy', []))}",
        f"pytest_add_cli_args = {_toml_list(config.get('pytest_add_cli_args', []) + options)}",
        f"pytest_add_cli_args_test_selection = {_toml_list(selection)}",
        *(['process_isolation = "forkserver"'] if module in FORKSERVER else []),
        "",
    ])
    (tmp / "pyproject.toml").write_text(pyproject.replace(section, new))
    return tmp


def run_module(module: str, timeout: int, only: list[str] | None = None, recheck: bool = False) -> dict:
    """mutmut over ``module``; ``only``: just these mutant names (globs), e.g. to re-check earlier survivors;
    ``recheck``: run each survivor against the module's whole test selection (see ``_recheck``)."""
    tmp = scratch_copy(module, MODULES[module])
    try:
        names = only or NAMES.get(module, [])
        done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "2", *names], cwd=tmp,
                              capture_output=True, text=True, timeout=timeout, check=False)
        results = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=tmp,
                                 capture_output=True, text=True, timeout=600, check=False).stdout
        status: dict[str, str] = {}
        for line in results.splitlines():
            m = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
            if m and (not names or any(fnmatch.fnmatch(m.group(1), n) for n in names)):
                status[m.group(1)] = m.group(2).strip()
        declared = equivalent().get(module, set())
        if recheck:
            for name in [n for n, s in status.items() if s not in DETECTED and n not in declared]:
                if _recheck(tmp, name):
                    status[name] = "killed"
        diffs = {n: _show(tmp, n) for n, s in status.items() if s not in DETECTED and n not in declared}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not status:
        raise RuntimeError(f"mutmut gave no results for {module}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    survived = sorted(n for n, s in status.items() if s not in DETECTED and n not in declared)
    killed = sum(s in DETECTED for s in status.values())
    equiv = sum(n in declared and s not in DETECTED for n, s in status.items())
    considered = len(status) - equiv
    return {"module": module, "mutants": len(status), "killed": killed, "equivalent": equiv,
            "survived": survived, "killed_%": round(100 * killed / considered, 1) if considered else 100.0,
            "statuses": dict(Counter(status.values())), "status": {n: status[n] for n in survived}, "diffs": diffs}


def _recheck(tmp: Path, name: str) -> bool:
    """Whether ``name`` fails the module's whole test selection (run as mutmut runs it, from ``mutants/``).

    mutmut runs a mutant only against the tests that called its function during the stats run; a function that
    returns closures (``agents/mp/filters.py``'s filter factories, called once when the query tables are built)
    is attributed to the one test that imported it, so its closures' mutants would be judged by that test alone.
    """
    config = tomllib.loads((tmp / "pyproject.toml").read_text())["tool"]["mutmut"]
    env = {**os.environ, "MUTANT_UNDER_TEST": name, "PYTHONPATH": str(tmp / "mutants")}
    done = subprocess.run([sys.executable, "-m", "pytest", *config["pytest_add_cli_args"],
                           *config["pytest_add_cli_args_test_selection"]],
                          cwd=tmp / "mutants", env=env, capture_output=True, text=True, timeout=1800, check=False)
    return done.returncode not in (0, 5)


def _show(tmp: Path, name: str) -> str:
    """The diff of one mutant (``mutmut show``), its changed lines only."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=tmp, capture_output=True, text=True,
                         timeout=120, check=False).stdout
    return "\n".join(line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per module")
    parser.add_argument("--target", type=float, default=85.0, help="minimum %% killed of non-equivalent mutants")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    parser.add_argument("--recheck", action="store_true",
                        help="run each survivor against the module's whole test selection (slow; see _recheck)")
    parser.add_argument("--mutants", nargs="+", metavar="NAME", help="only these mutant names or globs (one module)")
    args = parser.parse_args()
    if unknown := [m for m in args.modules if m not in MODULES]:
        parser.error(f"unknown module(s) {unknown}; choose from {list(MODULES)}")
    if args.mutants and len(args.modules) != 1:
        parser.error("--mutants needs exactly one module")
    rows = []
    print(f"{'module':28} {'mutants':>7} {'killed':>6} {'equiv':>5} {'survived':>8} {'% killed':>8}")
    for module in args.modules or list(MODULES):
        row = run_module(module, args.timeout, args.mutants, args.recheck)
        rows.append(row)
        print(f"{module:28} {row['mutants']:7} {row['killed']:6} {row['equivalent']:5} {len(row['survived']):8} "
              f"{row['killed_%']:8.1f}", flush=True)
        for name in row["survived"]:
            print(f"    {row['status'][name]}: {name}\n" + "\n".join(f"        {d}" for d in row["diffs"][name].splitlines()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["killed_%"] >= args.target for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
