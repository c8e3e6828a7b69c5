"""mp-api's own client tests against ``matlas mp serve``: passed/failed per test file, failures classified.

Downloads the sdist of the installed ``mp-api`` (``pip download --no-binary :all:``; PyPI is the only
network it needs, and it skips politely without it), builds or reuses a snapshot, starts
``matlas mp serve`` on a free loopback port, runs the sdist's ``tests/client`` (MPContribs excluded:
another service) with ``MP_API_ENDPOINT`` pointing at it and prints one row per test file::

    .venv/bin/python -m bench.mp_api_suite                     # snapshot from ../shared/data/mp
    .venv/bin/python -m bench.mp_api_suite --snapshot var/mp.sqlite --json
    .venv/bin/python -m bench.mp_api_suite -k thermo           # a subset (pytest -k)

Each failure is put in one class: ``route`` (the server answers 404), ``parameter`` (400/422),
``shape`` (the client cannot read the answer: attribute, type, validation or key errors),
``data`` (the snapshot lacks the documents or values the test asks for), ``not_rest`` (the test
reads object storage or another site, not the REST API). ``bench/mp_api_suite_needs.py`` names,
per test, the data or the outside source a remaining failure needs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import requests

from bench._data import CACHE, ROOT, emit
from bench.mp_api_suite_needs import NEEDS

SHARED_MP = ROOT.parent / "shared" / "data" / "mp"
WORK = CACHE / "mp_api_suite"
OFFLINE_KEY = "matlas-offline-snapshot-key-0000"
EXCLUDED = ("contribs",)  # MPContribs: a different service with its own client
CLASSES = ("route", "parameter", "shape", "data", "not_rest")

# Markers of a test that read object storage or another site instead of the REST API.
_NOT_REST = re.compile(
    r"boto|botocore|s3://|amazonaws|NoCredentialsError|openData|materialsproject-parsed|"
    r"materialsproject-build|minio|api\.materialsproject\.org|mpcontribs|contribs\.materialsproject|"
    r"NameResolutionError|getaddrinfo|Temporary failure in name resolution",
    re.IGNORECASE,
)
_ROUTE = re.compile(r"status code 404|404 Client Error|Not Found for url|\b404\b")
_PARAMETER = re.compile(r"status code 4(00|22)|\b400\b|\b422\b|unknown parameter")
_SHAPE = re.compile(
    r"AttributeError|TypeError|ValidationError|KeyError|JSONDecodeError|NoneType|"
    r"validation error|has no attribute|is not iterable|not subscriptable"
)


def suite_tests(version_: str) -> Path | None:
    """``tests/`` of the mp-api sdist ``version_``, downloaded once into the bench cache."""
    target = WORK / f"mp_api-{version_}"
    if (target / "tests" / "client").is_dir():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
             f"mp-api=={version_}", "-d", tmp],
            capture_output=True, text=True, timeout=600, check=False,
        )
        archives = list(Path(tmp).glob("mp_api-*.tar.gz"))
        if done.returncode != 0 or not archives:
            print(f"skipped: cannot download the mp-api {version_} sdist "
                  f"({(done.stderr.strip().splitlines() or ['no archive'])[-1]})", file=sys.stderr)
            return None
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if "/tests/" in m.name or m.name.endswith(
                ("/pyproject.toml", "/tests"))]
            tar.extractall(tmp, members=members, filter="data")
        partial = WORK / f".mp_api-{version_}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        WORK.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(tmp) / f"mp_api-{version_}", partial)
        partial.rename(target)
    return target


def build_snapshot(data: Path | None) -> Path:
    """A snapshot of ``data`` (materials, recipes, Li-Fe-O entries) through ``matlas mp import``,
    or of the packaged default when ``data`` is None; rebuilt only when its sources change."""
    files = {}
    if data is not None:
        files = {
            "--materials": data / "materials.jsonl",
            "--synthesis": data / "synthesis_recipes.jsonl.gz",
            "--entries": data / "emmet_Li-Fe-O_entries.json.gz",
        }
        files = {flag: path for flag, path in files.items() if path.is_file()}
    stamp = repr(sorted((f, str(p), p.stat().st_size, p.stat().st_mtime) for f, p in files.items()))
    db = WORK / ("snapshot-shared.sqlite" if files else "snapshot-default.sqlite")
    stamp_file = db.with_suffix(".stamp")
    if db.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return db
    db.unlink(missing_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if files:
        args = [arg for flag, path in files.items() for arg in (flag, str(path))]
        _matlas("mp", "import", *args, "--db", str(db), "--json")
    else:
        _matlas("mp", "info", "--db", str(db), "--json")  # first start imports the default
    print(f"built {db} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    stamp_file.write_text(stamp)
    return db


def _matlas(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "matlas", *args], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``matlas mp serve`` over ``db`` on a free loopback port; returns the process and its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "matlas", "mp", "serve", "--snapshot", str(db), "--port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: matlas mp serve exited with {proc.returncode}; see {log}")
        try:
            if requests.get(url + "heartbeat", timeout=2).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"error: matlas mp serve did not answer on {url} within 120 s; see {log}")


def run_suite(suite: Path, url: str, junit: Path, select: str | None, timeout: int) -> None:
    """The sdist's client tests against ``url``, results as JUnit XML in ``junit``."""
    env = {**os.environ, "MP_API_KEY": OFFLINE_KEY, "MP_API_ENDPOINT": url,
           "PMG_MAPI_KEY": OFFLINE_KEY, "MPRESTER_MUTE_PROGRESS_BARS": "true"}
    env.pop("PYTHONPATH", None)
    cmd = [sys.executable, "-m", "pytest", "tests/client", "-q", "-p", "no:cacheprovider",
           "-o", "addopts=", "-o", "xfail_strict=false", f"--timeout={timeout}",
           f"--junitxml={junit}", *(f"--ignore=tests/client/{d}" for d in EXCLUDED)]
    if select:
        cmd += ["-k", select]
    subprocess.run(cmd, cwd=suite, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)  # failing tests are the result, not an error


def classify(text: str) -> str:
    """One class for a failure's message and traceback (checked in this order)."""
    if _NOT_REST.search(text):
        return "not_rest"
    if _ROUTE.search(text):
        return "route"
    if _PARAMETER.search(text):
        return "parameter"
    if _SHAPE.search(text.split("\n", 1)[0]) or _SHAPE.search(_last_error(text)):
        return "shape"
    return "data"


def _last_error(text: str) -> str:
    """The ``E   ...`` lines of the innermost frame, where the exception is named."""
    lines = [line for line in text.splitlines() if line.startswith("E ")]
    return "\n".join(lines[-6:]) or text[-2000:]


def results(junit: Path) -> list[dict]:
    """One dict per test case: file, test, outcome, and for failures class, reason and need."""
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname") or case.get("name", "")  # a module skipped at collection
        file = re.sub(r"/[A-Z]\w*$", "", module.replace(".", "/")) + ".py"
        test = f"{file}::{case.get('name')}"
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            if (node := case.find(tag)) is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                detail = (node.get("message") or "") + "\n" + (node.text or "")
        row = {"file": file.removeprefix("tests/client/"), "test": test, "outcome": outcome}
        if outcome == "failed":
            row["class"] = classify(detail)
            row["reason"] = " ".join(detail.split("\n\n")[0].split())[:160]
            row["needs"] = next((need for key, need in NEEDS.items() if key in test), "")
        rows.append(row)
    return rows


def table(rows: list[dict]) -> list[dict]:
    """Passed/failed/skipped per file and failures per class, with a total row."""
    out = []
    for file in [*sorted({r["file"] for r in rows}), "TOTAL"]:
        mine = [r for r in rows if file in ("TOTAL", r["file"])]
        counts = Counter(r["outcome"] for r in mine)
        classes = Counter(r["class"] for r in mine if r["outcome"] == "failed")
        out.append({"file": file, "passed": counts["passed"], "failed": counts["failed"],
                    "skipped": counts["skipped"], **{c: classes[c] for c in CLASSES}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", type=Path, help="serve this snapshot instead of building one")
    parser.add_argument("--data", type=Path, default=SHARED_MP if SHARED_MP.is_dir() else None,
                        help="MP data folder to import (default ../shared/data/mp, else the "
                             "packaged default snapshot)")
    parser.add_argument("-k", dest="select", help="pytest -k expression (a subset of the tests)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    args = parser.parse_args()

    installed = version("mp-api")
    suite = suite_tests(installed)
    if suite is None:
        return
    db = args.snapshot or build_snapshot(args.data)
    if not db.exists():
        raise SystemExit(f"error: no snapshot at {db}")
    WORK.mkdir(parents=True, exist_ok=True)
    proc, url = serve(db, WORK / "serve.log")
    start = time.perf_counter()
    try:
        run_suite(suite, url, WORK / "junit.xml", args.select, args.timeout)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows = results(WORK / "junit.xml")
    meta = {"mp_api": installed, "snapshot": str(db), "tests": len(rows),
            "seconds": round(time.perf_counter() - start)}
    failures = [r for r in rows if r["outcome"] == "failed"]
    if args.json:
        emit(table(rows), True, {**meta, "failures": failures})
        return
    emit(table(rows), False, meta)
    if failures:
        print()
        emit([{k: r[k] for k in ("test", "class", "reason", "needs")} for r in failures], False)


if __name__ == "__main__":
    main()
