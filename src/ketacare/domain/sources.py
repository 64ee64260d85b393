"""The bibliography every data file cites (`bibliography.toml`), and citations split into text and keys.

A data file's source field holds bibliography keys separated by ", " (e.g. "glue2017a, glue2020") or a label
("clinic-default"); free text cites as "[key]" or "[key1, key2]". `cite_parts` splits any such text into plain
text and citations so that each adapter renders them its own way: pages link "Author Year" to the sources page,
the CLI and the PDF print "Author Year" (`plain`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ketacare.domain.datafiles import load_toml

KEY_PATTERN = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_TOKEN = re.compile(rf"(?<![\w./#-]){KEY_PATTERN}(?![\w/#-])")
_BRACKET = re.compile(rf"\[\s*({KEY_PATTERN}(?:\s*[,;]\s*{KEY_PATTERN})*)\s*\]")
_INITIALS = re.compile(r"^[A-Z]{1,3}$")


@dataclass(frozen=True)
class Source:
    """One bibliography entry: who, when, what, where, what Ketacare uses it for and how far it was read."""

    key: str
    authors: str
    year: int | None
    title: str
    published: str
    doi: str
    url: str
    supports: str
    read: str
    cite_as: str = ""

    @property
    def short(self) -> str:
        """Return the in-text citation, "Author Year" (e.g. "Sanacora 2017"), or the entry's `cite_as`."""
        if self.cite_as:
            return self.cite_as
        first = self.authors.split(",")[0].replace(" et al.", "").strip()
        words = first.split()
        if len(words) > 1 and _INITIALS.match(words[-1]):
            words = words[:-1]
        return f"{' '.join(words)} {self.year}" if self.year else " ".join(words)

    @property
    def link(self) -> str:
        """Return the DOI link if there is a DOI, else the URL (may be empty)."""
        return f"https://doi.org/{self.doi}" if self.doi else self.url


@dataclass(frozen=True)
class Part:
    """A piece of cited text: plain `text`, or a citation (`key` set; `text` is what to print for it)."""

    text: str
    key: str = ""
    label: bool = False  # a label ("clinic default, ...") rather than a bibliography entry

    @property
    def is_source(self) -> bool:
        return bool(self.key) and not self.label


@cache
def bibliography() -> dict[str, Source]:
    """Return every bibliography entry by key, in file order."""
    raw = load_toml("ketacare.domain", "bibliography.toml")["sources"]
    return {
        k: Source(
            key=k,
            authors=str(v["authors"]),
            year=int(v["year"]) if "year" in v else None,
            title=str(v["title"]),
            published=str(v["published"]),
            doi=str(v.get("doi", "")),
            url=str(v.get("url", "")),
            supports=str(v["supports"]),
            read=str(v["read"]),
            cite_as=str(v.get("cite_as", "")),
        )
        for k, v in raw.items()
    }


@cache
def labels() -> dict[str, str]:
    """Return the plain-words labels a source field may use instead of a key (e.g. "clinic-default")."""
    return dict(load_toml("ketacare.domain", "bibliography.toml")["labels"])


def known(key: str) -> bool:
    """Return True if `key` is a bibliography key or a label."""
    return key in bibliography() or key in labels()


def source_keys(field: str) -> list[str]:
    """Return the keys of a source field ("glue2017a, glue2020" -> both); unknown words are returned as they are."""
    return [k.strip() for k in field.split(",") if k.strip()]


def _part(key: str) -> Part:
    if key in labels():
        return Part(labels()[key], key, label=True)
    return Part(bibliography()[key].short, key)


def cite_parts(text: str) -> list[Part]:
    """Split `text` into plain text and citations: bracketed "[k1, k2]" groups and bare known keys."""
    keys = source_keys(text)
    if keys and all(re.fullmatch(KEY_PATTERN, k) and known(k) for k in keys):  # a source field: keys only
        parts: list[Part] = []
        for i, k in enumerate(keys):
            if i:
                parts.append(Part("; "))
            parts.append(_part(k))
        return parts
    parts = []

    def plain_text(chunk: str) -> None:
        pos = 0
        for m in _TOKEN.finditer(chunk):
            if known(m.group(0)):
                if m.start() > pos:
                    parts.append(Part(chunk[pos : m.start()]))
                parts.append(_part(m.group(0)))
                pos = m.end()
        if pos < len(chunk):
            parts.append(Part(chunk[pos:]))

    pos = 0
    for m in _BRACKET.finditer(text):
        keys = [k.strip() for k in re.split(r"[,;]", m.group(1))]
        if not all(known(k) for k in keys):
            continue
        plain_text(text[pos : m.start()])
        parts.append(Part("("))
        for i, k in enumerate(keys):
            if i:
                parts.append(Part("; "))
            parts.append(_part(k))
        parts.append(Part(")"))
        pos = m.end()
    plain_text(text[pos:])
    return parts


def plain(text: str) -> str:
    """Return `text` with every citation written as "Author Year" (for the terminal and the PDF)."""
    return "".join(p.text for p in cite_parts(text or ""))
