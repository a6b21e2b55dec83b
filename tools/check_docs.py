"""Every document the project names exists, and every #anchor names a heading in it.

Scans the project's text files (code, protos, stubs, tests, docs, deploy and dashboard files)
for:
- mentions of a Markdown document, `docs/figures.md` or `README.md`, with an optional
  `#anchor`: the document must exist (from the project root, or beside the file naming it);
- relative Markdown links and images in `.md` files, `[text](path#anchor)` and `[text](#anchor)`:
  the target must exist inside the project;
- names of the documents that lived outside the project (the old architecture and export-format
  contracts): the project's own docs/ replaced them, so naming them is always an error.
An anchor must be the GitHub anchor of an ATX heading (`## Title`) in the target: lower-case,
punctuation dropped, spaces to `-`, `-1`, `-2`... for repeated headings. Exit status 1, naming
each broken reference by file and line, otherwise 0.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
# Spelled in two halves so this file does not name them itself.
FORBIDDEN = ("ARCHITECTURE" + ".md", "EXPORT_" + "FORMATS")
SUFFIXES = {
    ".py",
    ".pyi",
    ".proto",
    ".md",
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".html",
    ".mako",
    ".js",
    ".css",
    ".cfg",
    ".ini",
    ".sh",
    ".example",
}
NAMES = {"Makefile", "Dockerfile", "run", ".gitattributes"}
SKIP_DIRS = {".git", ".venv", "venv", "var", "node_modules", "__pycache__", "build", "dist"}
# Its cases name broken documents on purpose.
EXEMPT = {"tests/tools/test_docs_links.py"}

# A path ending in .md, with an optional #anchor, not inside a URL or a longer path.
MENTION = re.compile(r"(?<![\w/.:@%-])((?:[\w-]+/)*[\w-][\w.-]*\.md)(?![\w/])(#[\w-]*)?")
LINK = re.compile(r"!?\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    kept = (
        ch for ch in text if ch.isalnum() or ch in " -_" or unicodedata.category(ch).startswith("M")
    )
    return "".join(kept).replace(" ", "-")


def lines_outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line of Markdown that is not inside a fenced code block."""
    out, fence = [], ""
    for number, line in enumerate(text.splitlines(), 1):
        marker = FENCE.match(line)
        if marker and (not fence or marker.group(1) == fence):
            fence = "" if fence else marker.group(1)
            continue
        if not fence:
            out.append((number, line))
    return out


def anchors(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    """The anchors a Markdown file's headings (and explicit `id`/`name` anchors) give."""
    if path not in cache:
        found: set[str] = set()
        seen: dict[str, int] = {}
        for _, line in lines_outside_fences(path.read_text(encoding="utf-8")):
            found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line))
            heading = HEADING.match(line)
            if not heading:
                continue
            base = slug(CODE_SPAN.sub(r"\2", heading.group(1)))
            repeat = seen.get(base, 0)
            seen[base] = repeat + 1
            found.add(base if repeat == 0 else f"{base}-{repeat}")
        cache[path] = found
    return cache[path]


def files(root: Path) -> list[Path]:
    """The project's text files, skipping the virtualenv, local data and caches."""
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and (not d.startswith(".") or d in (".ci", ".github"))
        )
        for name in sorted(names):
            path = Path(folder) / name
            if path.suffix in SUFFIXES or name in NAMES:
                out.append(path)
    return out


def inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


class Checker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[Path, set[str]] = {}
        self.found: list[str] = []

    def target(self, where: str, doc: Path, anchor: str, named: str) -> None:
        if not inside(doc, self.root):
            self.found.append(f"{where}: {named} is outside the project; cite its docs/ instead")
        elif not doc.exists():
            self.found.append(f"{where}: {named} does not exist")
        elif anchor and doc.suffix == ".md" and anchor not in anchors(doc, self.cache):
            rel = doc.resolve().relative_to(self.root.resolve()).as_posix()
            self.found.append(
                f"{where}: {named}: no heading in {rel} has the anchor #{anchor} "
                "(GitHub's anchor: the heading lower-cased, punctuation dropped, spaces to -)"
            )

    def mentions(self, where: str, path: Path, line: str) -> None:
        for name in FORBIDDEN:
            if name in line:
                self.found.append(
                    f"{where}: names {name}, a file outside the project; cite docs/ instead"
                )
        for match in MENTION.finditer(line):
            if any(name in match.group(0) for name in FORBIDDEN):
                continue  # said above
            named, anchor = match.group(1), (match.group(2) or "#")[1:]
            candidates = [self.root / named, path.parent / named]
            doc = next((c for c in candidates if c.exists()), candidates[0])
            self.target(where, doc, anchor, match.group(0))

    def links(self, where: str, path: Path, line: str) -> None:
        bare = CODE_SPAN.sub("", line)
        targets = [m.group(2) for m in LINK.finditer(bare)]
        reference = REFERENCE.match(bare)
        if reference:
            targets.append(reference.group(1))
        for named in targets:
            if SCHEME.match(named) or named.startswith("//"):
                continue  # a URL: not ours to check
            file_part, _, anchor = named.partition("#")
            file_part = unquote(file_part)
            if not file_part:
                doc = path
            elif file_part.startswith("/"):
                doc = self.root / file_part.lstrip("/")
            else:
                doc = path.parent / file_part
            self.target(where, doc, unquote(anchor), f"link {named}")

    def check(self, path: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        if rel in EXEMPT:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return
        prose = dict(lines_outside_fences(text)) if path.suffix == ".md" else {}
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{rel}:{number}"
            if number in prose:
                self.links(where, path, line)
                line = LINK.sub(r"[\1]", line)  # a link's target is checked as a link
            self.mentions(where, path, line)


def problems(root: Path = ROOT) -> list[str]:
    """Every broken reference under root, as `file:line: what is wrong`."""
    checker = Checker(root)
    for path in files(root):
        checker.check(path)
    return checker.found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print(f"{len(found)} broken document references", file=sys.stderr)
        return 1
    print("document references: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
