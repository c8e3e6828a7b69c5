"""``matlas serve --workers N``: how uvicorn is asked to run the workers (the process is tested in tests/api)."""

import uvicorn
from typer.testing import CliRunner

from matlas.cli import app
from matlas.cli.serve_cmd import WORKER_HEALTHCHECK_S


def test_workers_run_the_app_factory_with_a_patient_healthcheck(monkeypatch, tmp_path):
    """uvicorn's 5 s worker ping killed and restarted workers still loading on a busy machine, in a loop."""
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setenv("MATLAS_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--workers", "3", "--no-build-default", "--port", "8123"])
    assert result.exit_code == 0, result.output
    ((target, kw),) = calls
    assert target == "matlas.api.app:worker_app" and kw["factory"] is True
    assert (kw["workers"], kw["port"], kw["host"]) == (3, 8123, "127.0.0.1")
    assert kw["timeout_worker_healthcheck"] == WORKER_HEALTHCHECK_S >= 60
