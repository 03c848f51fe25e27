"""Read built HTML back as a person sees it: the text of code blocks and of the page."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    """Collects the text of every <pre> block and all visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.text: list[str] = []
        self._pre = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._pre += 1
            self.blocks.append("")
        elif tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre -= 1
        elif tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._pre:
            self.blocks[-1] += data


def code_blocks(html: str) -> list[str]:
    """The text of every <pre> block, as the copy button would take it."""
    collector = _Collector()
    collector.feed(html)
    return [b.rstrip("\n") for b in collector.blocks]


def visible_text(html: str) -> str:
    """All text outside scripts and styles, entities decoded."""
    collector = _Collector()
    collector.feed(html)
    return "".join(collector.text)
