"""A small document model (headings, paragraphs, bullet lists, tables) rendered to Markdown and to
HTML, so the model card and transparency record can be shown on a page and downloaded.

Text from data (a ward, a group, the council's contact, the plan's name) is wrapped in `Data`
and is escaped for each format: in Markdown every punctuation mark that could make markup gets a
backslash, web and email addresses and emoji shortcodes get an invisible word joiner (so they
never become links), in HTML everything is escaped. The documents' own words carry no markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_AUTOLINK_STARTS = re.compile(r"(https?://|www\.|@)", re.IGNORECASE)
_SHORTCODE_START = re.compile(r":(?=[\w+-]+:)")
WORD_JOINER = "\u2060"


@dataclass(frozen=True)
class Data:
    """Text that came from data or settings: escaped wherever it is rendered."""

    text: str


Text = str | Data
Inline = Text | list[Text]


def markdown_text(text: object) -> str:
    """Data text for Markdown: shown as typed, never a link, image, heading or emoji."""
    unlinked = _AUTOLINK_STARTS.sub(WORD_JOINER + r"\1", str(text))
    unlinked = _SHORTCODE_START.sub(":" + WORD_JOINER, unlinked)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", unlinked)


def _own_markdown(text: str) -> str:
    # the documents' own words: only what could start markup at a line's start or make a table
    # cell end is escaped
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _md(part: Inline) -> str:
    if isinstance(part, list):
        return "".join(_md(p) for p in part)
    if isinstance(part, Data):
        return markdown_text(part.text)
    return _own_markdown(part)


def _html(part: Inline) -> str:
    if isinstance(part, list):
        return "".join(_html(p) for p in part)
    return html.escape(part.text if isinstance(part, Data) else part)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Inline]]


@dataclass
class Section:
    heading: str
    blocks: list = field(default_factory=list)  # Inline (a paragraph), list[Inline] bullets, Table

    def para(self, *parts: Text) -> Section:
        self.blocks.append(list(parts))
        return self

    def bullets(self, items: list[Inline]) -> Section:
        self.blocks.append(("bullets", items))
        return self

    def fields(self, pairs: list[tuple[str, Inline]]) -> Section:
        """Label: value lines (the transparency record's fields)."""
        self.blocks.append(("fields", pairs))
        return self

    def table(self, headers: list[str], rows: list[list[Inline]]) -> Section:
        self.blocks.append(Table(headers, rows))
        return self

    def markdown(self, level: int = 2) -> str:
        """The section alone, as Markdown (a section added to a stored document)."""
        lines = [f"{'#' * level} {_own_markdown(self.heading)}", ""]
        for block in self.blocks:
            lines += _markdown_block(block) + [""]
        return "\n".join(lines).rstrip() + "\n"

    def html(self, level: int = 2) -> str:
        """The section alone, as HTML."""
        body = [f"<h{level}>{html.escape(self.heading)}</h{level}>"]
        body += [_html_block(block) for block in self.blocks]
        return "\n".join(body)


@dataclass
class Document:
    title: str
    intro: list[Inline]
    sections: list[Section]
    level_of: dict[str, int] = field(default_factory=dict)  # heading → 2 (default) or 3

    def markdown(self) -> str:
        lines = [f"# {_own_markdown(self.title)}", ""]
        for part in self.intro:
            lines += [_md(part), ""]
        for section in self.sections:
            hashes = "#" * self.level_of.get(section.heading, 2)
            lines += [f"{hashes} {_own_markdown(section.heading)}", ""]
            for block in section.blocks:
                lines += _markdown_block(block) + [""]
        return "\n".join(lines).rstrip() + "\n"

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        body += [f"<p>{_html(part)}</p>" for part in self.intro]
        for section in self.sections:
            level = self.level_of.get(section.heading, 2)
            body.append(f"<h{level}>{html.escape(section.heading)}</h{level}>")
            body += [_html_block(block) for block in section.blocks]
        return (
            '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
        )


_CSS = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:60rem;margin:2rem auto;"
    "padding:0 1rem;color:#0b0c0c}table{border-collapse:collapse;margin:0.5rem 0}"
    "th,td{border:1px solid #b1b4b6;padding:0.25rem 0.5rem;text-align:left;vertical-align:top}"
    "th{background:#f3f2f1}dt{font-weight:bold}dd{margin:0 0 0.5rem 1rem}"
)


def _markdown_block(block) -> list[str]:
    if isinstance(block, Table):
        header = "| " + " | ".join(_own_markdown(h) for h in block.headers) + " |"
        rule = "|" + "|".join(" --- " for _ in block.headers) + "|"
        rows = ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in block.rows]
        return [header, rule, *rows]
    if isinstance(block, tuple) and block[0] == "bullets":
        return [f"- {_md(item)}" for item in block[1]]
    if isinstance(block, tuple) and block[0] == "fields":
        return [f"- **{_own_markdown(label)}**: {_md(value)}" for label, value in block[1]]
    return [_md(block)]


def _html_block(block) -> str:
    if isinstance(block, Table):
        head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in block.headers)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_html(cell)}</td>" for cell in row) + "</tr>"
            for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(block, tuple) and block[0] == "bullets":
        return "<ul>" + "".join(f"<li>{_html(item)}</li>" for item in block[1]) + "</ul>"
    if isinstance(block, tuple) and block[0] == "fields":
        return (
            "<dl>"
            + "".join(
                f"<dt>{html.escape(label)}</dt><dd>{_html(value)}</dd>" for label, value in block[1]
            )
            + "</dl>"
        )
    return f"<p>{_html(block)}</p>"
