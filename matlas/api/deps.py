"""Dependencies shared by routes: the settings and the services of the running app.

They are ``async`` so that FastAPI calls them on the event loop: a plain ``def`` dependency costs a
worker-thread round trip per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matlas.settings import Settings
from retrieval.catalog import IndexCatalog
from retrieval.encoder_cache import EncoderCache
from retrieval.service import CrossModalService, SearchService


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _search(request: Request) -> SearchService:
    return request.app.state.search


async def _crossmodal(request: Request) -> CrossModalService:
    return request.app.state.crossmodal


async def _catalog(request: Request) -> IndexCatalog:
    return request.app.state.search.catalog


async def _encoders(request: Request) -> EncoderCache:
    return request.app.state.search.encoders


SettingsDep = Annotated[Settings, Depends(_settings)]
ServiceDep = Annotated[SearchService, Depends(_search)]
CrossModalDep = Annotated[CrossModalService, Depends(_crossmodal)]
CatalogDep = Annotated[IndexCatalog, Depends(_catalog)]
EncodersDep = Annotated[EncoderCache, Depends(_encoders)]
