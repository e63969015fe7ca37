"""The TOTP enrolment QR code as inline SVG (no image request, no script: R-X8)."""

from __future__ import annotations

import segno
from markupsafe import Markup

LABEL = "QR code to scan with your authenticator app"


def qr_svg(uri: str) -> Markup:
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#1a1d21", light="#ffffff",
                                                svgclass="qr", title=LABEL, omitsize=True)
    # segno's output is its own markup (the URI is encoded as modules, never copied as text).
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{LABEL}" ', 1))
