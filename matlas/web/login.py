"""Signing in to the web app with an API key: ``/login`` sets an HttpOnly, SameSite=Strict cookie.

The cookie holds the key itself (the server keeps only its digest), so ``Authenticate`` treats a
page request with it like an API request with the bearer token. ``/logout`` clears it. Without
configured keys there is nothing to sign in to and ``/login`` sends the browser home.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from matlas.api.auth import COOKIE
from matlas.web.render import templates

__all__ = ["COOKIE_MAX_AGE_S", "router", "safe_next"]

router = APIRouter(include_in_schema=False)
COOKIE_MAX_AGE_S = 7 * 24 * 3600


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site (``/search?q=x``), else ``/`` (no open redirects).

    >>> safe_next("/chat/abc"), safe_next("//evil.example"), safe_next("https://evil.example"), safe_next(None)
    ('/chat/abc', '/', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form (home when the server runs without keys)."""
    if not request.app.state.keys:
        return RedirectResponse("/", status_code=303)
    return templates.TemplateResponse(request, "login.html", {"nav": None, "next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check the key; on success set the cookie and go to ``next``, else the form again with 401."""
    keys = request.app.state.keys
    if not keys:
        return RedirectResponse("/", status_code=303)
    principal = keys.authenticate(key.strip())
    if principal is None:
        return templates.TemplateResponse(request, "login.html", {
            "nav": None, "next": safe_next(next), "error": "That key is not valid on this server."}, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, key.strip(), max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the key (clear the cookie) and show the sign-in form."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
