"""Document references: every document the project names exists and every #anchor is a heading
in it; broken paths, anchors and links, and the old outside documents, are caught."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "tools"))

import check_docs

ROOT = Path(__file__).parents[2]
OUTSIDE = check_docs.FORBIDDEN  # spelled in halves there, so this file does not name them

DOC = """# Guide

## Setup: two commands

```sh
# Not a heading: inside a fence
```

## Usage
## Usage

See [the setup](#setup-two-commands) and [the code](../services/app.py).
"""


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A small project: docs/guide.md, services/app.py, and the files given."""
    base = {"docs/guide.md": DOC, "services/app.py": '"""An app (docs/guide.md#usage)."""\n'}
    for name, text in (base | files).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_every_reference_in_the_project_resolves() -> None:
    assert check_docs.problems(ROOT) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        pytest.param(
            "Interaction event (one schema for REST, gRPC and Kafka)",
            "interaction-event-one-schema-for-rest-grpc-and-kafka",
            id="parentheses-and-commas",
        ),
        pytest.param(
            "Service levels: business hours, SLA, agents",
            "service-levels-business-hours-sla-agents",
            id="colon",
        ),
        pytest.param("What's new — 2026", "whats-new--2026", id="dash-dropped-spaces-kept"),
        pytest.param("The [figures](figures.md) page", "the-figures-page", id="link-text"),
        pytest.param("rapport_up and x-ray", "rapport_up-and-x-ray", id="underscore-hyphen"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert check_docs.slug(heading) == anchor


def test_a_clean_tree_has_no_problems(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "README.md": "[Guide](docs/guide.md#usage-1), `docs/guide.md#setup-two-commands`\n",
            "docs/other.md": "[Readme](../README.md), [up](guide.md#guide), [web](https://x.org/a.md)\n",
        },
    )
    assert check_docs.problems(root) == []


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param(
            "services/x.py",
            '"""Rules: docs/missing.md."""\n',
            "services/x.py:1: docs/missing.md does not exist",
            id="missing-document",
        ),
        pytest.param(
            "services/x.py",
            "# docs/guide.md#setup\n",
            "services/x.py:1: docs/guide.md#setup: no heading in docs/guide.md has the anchor",
            id="anchor-no-heading",
        ),
        pytest.param(
            "proto/x.proto",
            "// docs/guide.md#not-a-heading-inside-a-fence\n",
            "proto/x.proto:1: docs/guide.md#not-a-heading-inside-a-fence: no heading",
            id="fenced-line-is-no-heading",
        ),
        pytest.param(
            "docs/other.md",
            "Read [the guide](guide.md#use).\n",
            "docs/other.md:1: link guide.md#use: no heading in docs/guide.md has the anchor #use",
            id="markdown-link-anchor",
        ),
        pytest.param(
            "docs/other.md",
            "\nSee [above](#nowhere).\n",
            "docs/other.md:2: link #nowhere: no heading in docs/other.md",
            id="same-file-anchor",
        ),
        pytest.param(
            "docs/other.md",
            "[code](../services/gone.py)\n",
            "docs/other.md:1: link ../services/gone.py does not exist",
            id="relative-link-to-a-file",
        ),
        pytest.param(
            "docs/other.md",
            "[contract](../../shared/notes.md)\n",
            "docs/other.md:1: link ../../shared/notes.md is outside the project",
            id="link-outside-the-project",
        ),
        pytest.param(
            "README.md",
            "[guide](guide.md)\n",
            "README.md:1: link guide.md does not exist",
            id="link-relative-to-its-file",
        ),
    ],
)
def test_a_broken_reference_is_caught(tmp_path: Path, name: str, text: str, expected: str) -> None:
    found = check_docs.problems(tree(tmp_path, {name: text}))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize("outside", OUTSIDE)
@pytest.mark.parametrize("name", ["services/x.py", "proto/x.proto", "docs/other.md"])
def test_the_old_outside_documents_are_never_cited(tmp_path: Path, name: str, outside: str) -> None:
    found = check_docs.problems(tree(tmp_path, {name: f"Field rules: {outside} 'Event'.\n"}))
    assert found == [f"{name}:1: names {outside}, a file outside the project; cite docs/ instead"]


def test_a_renamed_heading_breaks_the_code_citing_it(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    for name in ("figures.md", "export-formats.md", "stewardship.md"):  # figures.md links to them
        shutil.copy(ROOT / "docs" / name, tmp_path / "docs" / name)
    shutil.copy(ROOT / "services" / "reports" / "value.py", tmp_path / "value.py")
    assert check_docs.problems(tmp_path) == []
    figures = tmp_path / "docs" / "figures.md"
    text = figures.read_text()
    assert "\n## Value model: what the year earned\n" in text
    figures.write_text(text.replace("## Value model: what the year earned", "## Value model"))
    assert check_docs.problems(tmp_path) == [
        "value.py:1: docs/figures.md#value-model-what-the-year-earned: no heading in "
        "docs/figures.md has the anchor #value-model-what-the-year-earned (GitHub's anchor: "
        "the heading lower-cased, punctuation dropped, spaces to -)"
    ]
