"""A picture of the client's topology as plain SVG, drawn from `Values` alone.

No JavaScript and no external resources, black on white with dashes instead of colours, so the
same drawing serves the site, the offline bundle and the printed handout.
"""

from __future__ import annotations

from html import escape

from generator.derive import Values

WIDTH = 860
BOX_H = 64
ROW_GAP = 18
FONT = "font-family:DejaVu Sans,Verdana,sans-serif"


def _text(
    x: float, y: float, content: str, *, size: int = 13, bold: bool = False, anchor: str = "middle"
) -> str:
    weight = ";font-weight:bold" if bold else ""
    return (
        f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" '
        f'style="{FONT};font-size:{size}px{weight}">{escape(content)}</text>'
    )


def _box(
    x: float, y: float, w: float, h: float, lines: list[tuple[str, bool]], *, dashed: bool = False
) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    out = [
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="6" fill="#fff" '
        f'stroke="#000" stroke-width="1.5"{dash}/>'
    ]
    top = y + h / 2 - (len(lines) - 1) * 8 + 4
    for i, (line, bold) in enumerate(lines):
        out.append(_text(x + w / 2, top + i * 16, line, size=12 if i else 13, bold=bold))
    return "\n".join(out)


def _arrow(x1: float, y1: float, x2: float, y2: float, label: str, *, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
    return "\n".join(
        [
            f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="#000" '
            f'stroke-width="1.5" marker-end="url(#arrow)"{dash}/>',
            _text(mid_x, mid_y - 6, label, size=11),
        ]
    )


def topology_svg(values: Values) -> str:
    """The SVG drawing of the migration path for one client."""
    topo = values.topology
    ports = ", ".join(str(p) for p in topo.rpc_ports)
    targets: list[tuple[list[tuple[str, bool]], str]] = []
    on_server = topo.proxy_runs_on == "mailbox server"
    for server in topo.servers:
        if on_server and server.name == topo.proxy_host.name:
            continue
        role = "mailbox server, global catalog" if server.global_catalog else "mailbox server"
        targets.append(([(server.name, True), (server.fqdn, False), (role, False)], ports))
    for gc in topo.global_catalogs:
        targets.append(([(gc.name, True), (gc.fqdn, False), ("global catalog", False)], "6004"))

    rows = max(1, len(targets))
    height = 60 + rows * (BOX_H + ROW_GAP) + 40
    mid = 60 + (rows * (BOX_H + ROW_GAP) - ROW_GAP) / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:g}" '
        f'width="100%" role="img" class="topology">',
        f"<title>Migration path for {escape(values.client)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#000"/></marker></defs>',
        _text(16, 24, "Internet", size=12, bold=True, anchor="start"),
        _text(330, 24, "Client network", size=12, bold=True, anchor="start"),
        f'<line x1="318" y1="12" x2="318" y2="{height - 10:g}" stroke="#000" '
        'stroke-width="1" stroke-dasharray="2 3"/>',
        _box(10, mid - BOX_H / 2, 170, BOX_H, [("Office 365", True), ("migration service", False)]),
    ]
    proxy_lines = [
        ("RPC proxy: " + topo.proxy_host.name, True),
        (topo.proxy_host.fqdn, False),
        (values.public_fqdn, False),
    ]
    if on_server:
        proxy_lines.append(("also the mailbox server", False))
    proxy_h = BOX_H + 16 * (len(proxy_lines) - 3)
    parts.append(_box(345, mid - proxy_h / 2, 200, proxy_h, proxy_lines))
    parts.append(_arrow(180, mid, 345, mid, "TCP 443 (HTTPS)"))
    if topo.exposed_ports:
        exposed = ", ".join(str(p) for p in topo.exposed_ports)
        parts.append(_arrow(180, mid + 22, 345, mid + 22, f"{exposed} published", dashed=True))
        parts.append(_text(262, mid + 44, "(close after the migration)", size=10))
    if on_server:
        parts.append(_text(445, mid + proxy_h / 2 + 18, f"forwards to {ports} on itself", size=11))
    for i, (lines, label) in enumerate(targets):
        y = 60 + i * (BOX_H + ROW_GAP)
        parts.append(_box(650, y, 200, BOX_H, lines))
        parts.append(_arrow(545, mid, 650, y + BOX_H / 2, label))
    parts.append("</svg>")
    return "\n".join(parts)
