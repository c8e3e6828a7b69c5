"""Dependencies shared by routes: the settings and the search service of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matlas.settings import Settings
from retrieval.service import SearchService


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _service(request: Request) -> SearchService:
    return request.app.state.search


SettingsDep = Annotated[Settings, Depends(_settings)]
ServiceDep = Annotated[SearchService, Depends(_service)]
