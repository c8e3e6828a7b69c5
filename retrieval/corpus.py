"""BEIR-format corpora, queries and qrels: read, validated line by line, with clear errors."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from matlas.errors import InvalidInput

__all__ = ["MATERIALS_INDEX", "Document", "Query", "bundled_corpus", "chain_checksum", "load_corpus", "load_qrels", "load_queries"]

MATERIALS_INDEX = "materials"  # the index whose corpus, unless another is given, is the bundled one


class _Record(BaseModel):
    """A BEIR line: an ``_id`` (or ``id``; integers become strings) and fields of its kind."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(
        validation_alias=AliasChoices("_id", "id"), serialization_alias="_id", min_length=1
    )

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Document(_Record):
    """One corpus document (BEIR: ``_id``, ``title``, ``text``, optional ``metadata``)."""

    title: str = ""
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def content(self) -> str:
        """The text the encoders and BM25 see: title and body."""
        return f"{self.title}. {self.text}" if self.title and self.text else (self.title or self.text)


class Query(_Record):
    """One query (BEIR: ``_id``, ``text``)."""

    text: str = Field(min_length=1)


def _read_jsonl(path: Path, model: type[BaseModel]) -> Iterator[Any]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"file not found: {path}")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield model.model_validate(json.loads(line))
            except json.JSONDecodeError as err:
                raise InvalidInput(f"{path}:{number}: not valid JSON ({err.msg})") from None
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "line"
                raise InvalidInput(f"{path}:{number}: {where}: {first['msg']}") from None


def load_corpus(path: Path) -> list[Document]:
    """Documents of a BEIR ``corpus.jsonl``; ids must be unique and texts non-empty."""
    docs = list(_read_jsonl(path, Document))
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise InvalidInput(f"{path}: duplicate document id {doc.id!r}")
        if not doc.content.strip():
            raise InvalidInput(f"{path}: document {doc.id!r} has neither title nor text")
        seen.add(doc.id)
    if not docs:
        raise InvalidInput(f"{path}: the corpus is empty")
    return docs


def load_queries(path: Path) -> list[Query]:
    """Queries of a BEIR ``queries.jsonl``."""
    queries = list(_read_jsonl(path, Query))
    if not queries:
        raise InvalidInput(f"{path}: no queries")
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (header ``query-id corpus-id score``) as ``{query: {doc: relevance}}``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"file not found: {path}")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise InvalidInput(f"{path}: expected the header 'query-id<TAB>corpus-id<TAB>score'")
        for number, row in enumerate(reader, 2):
            if not row:
                continue
            try:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
            except (IndexError, ValueError):
                raise InvalidInput(f"{path}:{number}: expected 3 tab-separated fields") from None
    return qrels


def chain_checksum(previous: str, docs: Iterable[Document]) -> str:
    """SHA-256 over ``previous`` and the documents' canonical JSON, in order (appends chain)."""
    digest = hashlib.sha256(previous.encode())
    for doc in docs:
        digest.update(doc.model_dump_json(by_alias=True).encode() + b"\n")
    return digest.hexdigest()


def bundled_corpus(index_name: str) -> list[Document] | None:
    """The corpus index ``index_name`` gets when none is given: the bundled materials corpus for
    ``materials`` (built on the fly, ~430 documents), else None."""
    if index_name != MATERIALS_INDEX:
        return None
    from retrieval.materials_corpus import (
        materials_corpus,  # pymatgen loads only when this corpus is built
    )

    return materials_corpus()
