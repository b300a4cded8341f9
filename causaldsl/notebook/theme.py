"""Colours of the drawings that follow JupyterLab's light and dark themes.

Neutral colours (text, edges, arrowheads, gridlines, node fill) are CSS
variables of JupyterLab's theme with a light-theme fallback,
``var(--jp-content-font-color1, #333333)``: inline in JupyterLab the variable
wins, so the picture turns light-on-dark in the dark theme; in nbviewer, on
GitHub, in an ``<img>`` or an exported page without the theme, the fallback is
used. ``var()`` is not allowed in SVG presentation attributes, so the colours go
in ``style`` (:func:`paint`). Colours that carry meaning (the do / observed
fills and their own ink, the series palette) are fixed: each is readable on
both backgrounds.

>>> paint(fill=INK)
'style="fill:var(--jp-content-font-color0, #111111)"'
>>> resolved('<text style="fill:var(--jp-content-font-color0, #111111)">a</text>')
'<text style="fill:#111111">a</text>'
"""

from __future__ import annotations

import re
from typing import Optional

#: Text: titles, labels, node names.
INK = "var(--jp-content-font-color0, #111111)"
#: Secondary text: axis labels, legend labels, cluster titles.
INK2 = "var(--jp-content-font-color2, #555555)"
#: Edges, arrowheads, whiskers.
LINE = "var(--jp-content-font-color1, #333333)"
#: Dashed / latent strokes.
LINE2 = "var(--jp-content-font-color2, #777777)"
#: Gridlines.
GRID = "var(--jp-border-color2, #e5e5e5)"
#: The page: a plain node's fill.
PAGE = "var(--jp-layout-color0, #ffffff)"
#: A latent node's fill, a cluster's fill.
PAGE2 = "var(--jp-layout-color2, #f2f2f2)"
#: A cluster's border.
BORDER = "var(--jp-border-color1, #bbbbbb)"

_VAR = re.compile(r"var\(--[\w-]+,\s*([^()]*?)\)")


def paint(*, fill: Optional[str] = None, stroke: Optional[str] = None) -> str:
    """A ``style`` attribute setting ``fill`` and/or ``stroke`` (either may be a ``var()``)."""
    parts = [f"fill:{fill}" if fill else "", f"stroke:{stroke}" if stroke else ""]
    return 'style="' + ";".join(p for p in parts if p) + '"'


def resolved(svg: str) -> str:
    """``svg`` with every ``var(--name, fallback)`` replaced by its fallback (for files and converters)."""
    return _VAR.sub(lambda m: m.group(1).strip(), svg)
