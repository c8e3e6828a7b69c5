"""Dependencies shared by routes: the settings, the services of the running app, and rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matlas.api.auth import ReaderDep
from matlas.security.keys import Principal
from matlas.settings import Settings
from retrieval.catalog import IndexCatalog
from retrieval.encoder_cache import EncoderCache
from retrieval.service import CrossModalService, SearchService


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _search(request: Request) -> SearchService:
    return request.app.state.search


def _crossmodal(request: Request) -> CrossModalService:
    return request.app.state.crossmodal


def _catalog(request: Request) -> IndexCatalog:
    return request.app.state.search.catalog


def _encoders(request: Request) -> EncoderCache:
    return request.app.state.search.encoders


SettingsDep = Annotated[Settings, Depends(_settings)]
ServiceDep = Annotated[SearchService, Depends(_search)]
CrossModalDep = Annotated[CrossModalService, Depends(_crossmodal)]
CatalogDep = Annotated[IndexCatalog, Depends(_catalog)]
EncodersDep = Annotated[EncoderCache, Depends(_encoders)]


def _limited(group: str):
    def check(request: Request, principal: ReaderDep) -> Principal:
        request.app.state.rate_limits.hit(group, principal.name)
        return principal

    check.__name__ = f"{group}_rate_limit"
    return check


SearchLimitDep = Annotated[Principal, Depends(_limited("search"))]
"""The caller, counted against its search rate limit (429 past it)."""
ChatLimitDep = Annotated[Principal, Depends(_limited("chat"))]
"""The caller, counted against its chat rate limit (429 past it)."""
