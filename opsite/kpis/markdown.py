"""An impact story as a Markdown file a static-site generator reads (Hugo, Jekyll, Eleventy).

The front matter is YAML between ``---`` lines: ``title``, ``slug``, ``date``, ``categories``,
``tags``, ``summary``, ``featured``, then ``community`` and ``external_url`` when the story has
them (``external_url``, not ``url``: Hugo would take ``url`` as the page's own address). Text is
written as JSON strings, which YAML reads as double-quoted scalars, so no title or summary can
break the front matter, whatever characters it holds. The body is the summary and a link.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable

from .models import ImpactStory

# Line and paragraph separators end a line in YAML: escaped, like every other control character.
_YAML_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029"}


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    for character, escape in _YAML_BREAKS.items():
        quoted = quoted.replace(character, escape)
    return quoted


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_quoted(item) for item in items) + "]"


def story_markdown(story: ImpactStory) -> str:
    """The story as a Markdown document with its front matter."""
    lines = [
        "---",
        f"title: {_quoted(story.title)}",
        f"slug: {_quoted(story.slug)}",
        f"date: {story.published_on.isoformat()}",
        f"categories: {_list([story.category])}",
        f"tags: {_list(story.tags or [])}",
        f"summary: {_quoted(story.summary)}",
        f"featured: {'true' if story.featured else 'false'}",
    ]
    if story.community_id is not None:
        lines.append(f"community: {_quoted(story.community.name)}")
    if story.url:
        lines.append(f"external_url: {_quoted(story.url)}")
    lines += ["---", "", story.summary.strip(), ""]
    if story.url:
        # In angle brackets: an address holding a parenthesis still ends where it should.
        lines += [f"[Read the story](<{story.url}>)", ""]
    return "\n".join(lines)


def story_filename(story: ImpactStory) -> str:
    return f"{story.published_on.isoformat()}-{story.slug}.md"


def stories_zip(stories: Iterable[ImpactStory]) -> bytes:
    """The stories' Markdown files in one zip archive, one file per story."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for story in stories:
            archive.writestr(story_filename(story), story_markdown(story))
    return buffer.getvalue()
