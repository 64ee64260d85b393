"""The bibliography as JSON: resolves the keys that source fields carry ("sanacora2017" -> who, what, where)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ketacare.domain import sources
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor

router = APIRouter(tags=["sources"])


class SourceRead(BaseModel):
    key: str
    cite_as: str  # what pages print, e.g. "Sanacora 2017"
    authors: str
    year: int | None
    title: str
    published: str
    doi: str
    url: str
    supports: str
    read: str


class BibliographyRead(BaseModel):
    sources: list[SourceRead]
    labels: dict[str, str]  # keys that are not sources but plain-words labels ("clinic-default")


@router.get("/sources", response_model=BibliographyRead, responses=error_responses(401, 403))
def list_sources(
    actor: Actor = Depends(Access("sources", "read", patient_param=None)),
) -> BibliographyRead:
    """List every source Ketacare cites and the plain-words labels a source field may carry instead."""
    return BibliographyRead(
        sources=[
            SourceRead(key=s.key, cite_as=s.short, authors=s.authors, year=s.year, title=s.title,
                       published=s.published, doi=s.doi, url=s.url, supports=s.supports, read=s.read)
            for s in sources.bibliography().values()
        ],
        labels=sources.labels(),
    )
