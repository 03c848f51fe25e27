"""A picture of the client's topology as plain SVG, drawn from `Values` alone.

No JavaScript and no external resources, black on white with dashes instead of colours, so the
same drawing serves the site, the offline bundle and the printed handout.

The layout is measured from the text: every box is as wide as its longest line, every gap as
wide as the label it carries, so long host names grow the drawing instead of spilling out of
their boxes. Labels sit beside the straight, horizontal part of their arrow (never on a
slanted line), and arrows to several targets leave the proxy through one vertical bus, so no
label lies on or across a line; when long names would make the drawing too wide for paper,
the targets go below the proxy instead of beside it. Text is 13-14 units high: the page keeps
the drawing at least `min_width` CSS px wide (scrolling inside itself on a phone), so no text
is drawn below 10 px.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from generator.derive import Values

FONT = "font-family:DejaVu Sans,Verdana,sans-serif"
NAME_SIZE = 14  # the first, bold line of a box
TEXT_SIZE = 13  # every other line and label: the smallest text of the drawing
SMALLEST_ON_SCREEN = 10  # CSS px: the drawing is never shown so small that text goes below
LINE = 18  # distance between the baselines of a box's lines
PAD_X = 14  # space between a box's border and its longest line
PAD_Y = 12
TOP = 44  # the first box's top edge, below the "Internet" / "Client network" captions
ROW_GAP = 28  # between target boxes: room for the next arrow's label
LABEL_GAP = 7  # between a label's baseline and the arrow it names
# Wider than this, the targets go below the proxy: the handout prints the drawing across
# 180 mm (680 CSS px), where 13 units stay 10 px up to a width of 884.
STACK_ABOVE = 860

# Advance widths of DejaVu Sans (Book, Bold) for ASCII 32-126, per 1000 units of font size;
# Verdana, the fallback, is no wider. Characters outside ASCII count as the widest letter.
_BOOK = (
    "318 401 460 838 636 950 780 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 "
    "636 636 636 636 337 337 838 838 838 531 1000 684 686 698 770 632 575 775 752 295 295 656 "
    "557 863 748 787 603 787 695 635 611 732 684 989 685 611 685 390 337 390 838 500 500 613 "
    "635 550 635 615 352 635 634 278 278 579 278 974 634 612 635 635 411 521 392 634 592 818 "
    "592 592 525 636 337 636 838"
)
_BOLD = (
    "348 456 521 838 696 1002 872 306 457 457 523 838 380 415 380 365 696 696 696 696 696 696 "
    "696 696 696 696 400 400 838 838 838 580 1000 774 762 734 830 683 683 821 837 372 372 775 "
    "637 995 837 850 733 850 770 720 682 812 774 1103 771 724 725 457 365 457 838 500 500 675 "
    "716 593 716 678 435 716 712 343 343 665 343 1042 712 687 716 716 493 595 478 712 652 924 "
    "645 652 582 712 365 712 838"
)
_WIDEST = 1103


def _widths(table: str) -> dict[str, int]:
    """The width of every ASCII character; control characters count as the widest letter."""
    widths = dict.fromkeys(map(chr, range(128)), _WIDEST)
    widths.update(zip(map(chr, range(32, 127)), map(int, table.split()), strict=True))
    return widths


_WIDTHS = {False: _widths(_BOOK), True: _widths(_BOLD)}


def text_width(content: str, size: float, bold: bool = False) -> float:
    """The width of one line of text in the drawing's units (CSS px at scale 1)."""
    widths = _WIDTHS[bold]
    if content.isascii():  # a lookup per character in C: every name of every drawing
        total = sum(map(widths.__getitem__, content))
    else:
        total = sum(widths.get(c, _WIDEST) for c in content)
    return total * size / 1000


@dataclass(frozen=True)
class Drawing:
    """The SVG and the narrowest width at which its smallest text is still 10 CSS px."""

    svg: str
    width: float
    height: float

    @property
    def min_width(self) -> int:
        """CSS px below which the page scrolls the drawing instead of shrinking it."""
        return int(self.width * SMALLEST_ON_SCREEN / TEXT_SIZE + 0.999)


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = TEXT_SIZE,
    bold: bool = False,
    anchor: str = "middle",
) -> str:
    weight = ";font-weight:bold" if bold else ""
    return (
        f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" '
        f'style="font-size:{size}px{weight}">{escape(content)}</text>'
    )


@dataclass(frozen=True)
class _Box:
    """A box of lines: the first bold, the others plain."""

    lines: tuple[str, ...]
    dashed: bool = False

    @property
    def width(self) -> float:
        widest = max(
            text_width(line, NAME_SIZE if i == 0 else TEXT_SIZE, bold=i == 0)
            for i, line in enumerate(self.lines)
        )
        return round(widest + 2 * PAD_X)

    @property
    def height(self) -> float:
        return 2 * PAD_Y + LINE * len(self.lines) - 4

    def draw(self, x: float, y: float, width: float) -> str:
        dash = ' stroke-dasharray="6 4"' if self.dashed else ""
        out = [
            f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{self.height:g}" rx="6" '
            f'fill="#fff" stroke="#000" stroke-width="1.5"{dash}/>'
        ]
        for i, line in enumerate(self.lines):
            baseline = y + PAD_Y + NAME_SIZE - 2 + i * LINE
            size = NAME_SIZE if i == 0 else TEXT_SIZE
            out.append(_text(x + width / 2, baseline, line, size=size, bold=i == 0))
        return "\n".join(out)


def _line(x1: float, y1: float, x2: float, y2: float, *, arrow: bool, dashed: bool) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    head = ' marker-end="url(#arrow)"' if arrow else ""
    return (
        f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="#000" '
        f'stroke-width="1.5"{head}{dash}/>'
    )


def _label_width(label: str) -> float:
    return text_width(label, TEXT_SIZE)


def topology(values: Values) -> Drawing:
    """The drawing of the migration path for one client, with its measured size."""
    topo = values.topology
    ports = ", ".join(str(p) for p in topo.rpc_ports)
    on_server = topo.proxy_runs_on == "mailbox server"
    targets: list[tuple[_Box, str]] = []
    for server in topo.servers:
        if on_server and server.name == topo.proxy_host.name:
            continue
        role = "mailbox server, global catalog" if server.global_catalog else "mailbox server"
        targets.append((_Box((server.name, server.fqdn, role)), ports))
    for gc in topo.global_catalogs:
        targets.append((_Box((gc.name, gc.fqdn, "global catalog")), "6004"))

    office = _Box(("Office 365", "migration service"))
    proxy_lines = ["RPC proxy: " + topo.proxy_host.name, topo.proxy_host.fqdn, values.public_fqdn]
    if on_server:
        proxy_lines += ["also the mailbox server", f"forwards to {ports} on itself"]
    proxy = _Box(tuple(proxy_lines))

    # column 1: Office 365; gap 1: the arrows in from the internet and their labels
    inbound = ["TCP 443 (HTTPS)"]
    exposed = ""
    if topo.exposed_ports:
        exposed = ", ".join(str(p) for p in topo.exposed_ports) + " published"
        inbound += [exposed, "(close after the migration)"]
    office_x = 10.0
    office_w = office.width
    label_left = office_x + office_w + 10
    boundary = label_left + max(_label_width(s) for s in inbound) + 12
    proxy_x = boundary + 14
    proxy_w = proxy.width

    # then a vertical bus and one labelled arrow per target: beside the proxy, or below it
    # when long names would make the drawing too wide to print legibly (STACK_ABOVE)
    labels = max((_label_width(label) for _, label in targets), default=0)
    target_w = max((box.width for box, _ in targets), default=0)
    beside = proxy_x + proxy_w + 20
    stacked = bool(targets) and beside + 28 + labels + target_w + 10 > STACK_ABOVE
    bus_x = proxy_x + 24 if stacked else beside
    target_x = bus_x + 10 + labels + 18
    width = max(proxy_x + proxy_w, target_x + target_w if targets else 0) + 10

    column = sum(box.height for box, _ in targets) + ROW_GAP * max(0, len(targets) - 1)
    if stacked:
        middle = TOP + max(proxy.height, office.height) / 2
        first_target = TOP + max(proxy.height, office.height) + ROW_GAP + LINE
        bottom = first_target + column
    else:
        middle = TOP + max(column, proxy.height, office.height) / 2
        first_target = middle - column / 2
        bottom = TOP + max(column, proxy.height, office.height)
    proxy_y = middle - proxy.height / 2
    below_labels = middle + (12 + 2 * LINE + 4 if exposed else 0)
    height = max(bottom, below_labels) + 16

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
        # the font once, inherited by every text (it was on each: 60 bytes a text, each page)
        f'width="100%" role="img" class="topology" style="{FONT}">',
        f"<title>Migration path for {escape(values.client)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#000"/></marker></defs>',
        _text(office_x, 22, "Internet", size=NAME_SIZE, bold=True, anchor="start"),
        _text(boundary + 8, 22, "Client network", size=NAME_SIZE, bold=True, anchor="start"),
        f'<line x1="{boundary:g}" y1="8" x2="{boundary:g}" y2="{height - 8:g}" stroke="#000" '
        'stroke-width="1" stroke-dasharray="2 3"/>',
        office.draw(office_x, middle - office.height / 2, office_w),
        proxy.draw(proxy_x, proxy_y, proxy_w),
    ]
    left, right = office_x + office_w, proxy_x
    centre = (label_left + boundary - 12) / 2
    if exposed:
        parts.append(_line(left, middle - 12, right, middle - 12, arrow=True, dashed=False))
        parts.append(_text(centre, middle - 12 - LABEL_GAP, inbound[0]))
        parts.append(_line(left, middle + 12, right, middle + 12, arrow=True, dashed=True))
        parts.append(_text(centre, middle + 12 + LINE, exposed))
        parts.append(_text(centre, middle + 12 + 2 * LINE, inbound[2]))
    else:
        parts.append(_line(left, middle, right, middle, arrow=True, dashed=False))
        parts.append(_text(centre, middle - LABEL_GAP, inbound[0]))
    y = first_target
    centres = []
    for box, label in targets:
        centre_y = y + box.height / 2
        centres.append(centre_y)
        parts.append(box.draw(target_x, y, target_w))
        parts.append(_line(bus_x, centre_y, target_x, centre_y, arrow=True, dashed=False))
        parts.append(_text(bus_x + 10, centre_y - LABEL_GAP, label, anchor="start"))
        y += box.height + ROW_GAP
    if targets and stacked:
        parts.append(
            _line(bus_x, proxy_y + proxy.height, bus_x, max(centres), arrow=False, dashed=False)
        )
    elif targets:
        parts.append(_line(proxy_x + proxy_w, middle, bus_x, middle, arrow=False, dashed=False))
        top, low = min([middle, *centres]), max([middle, *centres])
        if low > top:
            parts.append(_line(bus_x, top, bus_x, low, arrow=False, dashed=False))
    parts.append("</svg>")
    return Drawing("\n".join(parts), width, height)


def topology_svg(values: Values) -> str:
    """The SVG drawing of the migration path for one client."""
    return topology(values).svg
