"""The browser front door: server-rendered pages (Jinja2 + htmx + its SSE extension) and the 3Dmol.js
viewer, mounted at ``/`` of the API app. Browser libraries come from npm (``npm ci`` copies them to
``static/vendor``)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC", "VENDOR_FILES", "mount_web"]

STATIC = Path(__file__).parent / "static"
VENDOR_FILES = ("htmx.min.js", "htmx-sse.js", "3Dmol-min.js")


def mount_web(app: FastAPI) -> None:
    """Add the pages and their static files to ``app``; warns when ``npm ci`` has not copied the libraries."""
    from matlas.web.login import router as login_router
    from matlas.web.pages import router

    missing = [name for name in VENDOR_FILES if not (STATIC / "vendor" / name).is_file()]
    if missing:
        logging.getLogger(__name__).warning(
            "web app: %s missing from %s; run `npm ci` in the project folder", ", ".join(missing), STATIC / "vendor")
    app.include_router(login_router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
