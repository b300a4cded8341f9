"""Small static SVG charts of answers: grouped bars for discrete outcomes, step histograms for continuous ones.

Drawn in Python as plain SVG (no JavaScript, no plotting library) so that they
read the same in a live notebook, in nbviewer and in exports, and so that a
widget can swap one for another in a few milliseconds.

>>> svg = bars_svg(["0", "1"], {"seeing": [0.25, 0.75], "doing": [0.5, 0.5]})
>>> svg.count('class="cdsl-bar"'), 'data-series="doing"' in svg
(4, True)
"""

from __future__ import annotations

import html
import math
from typing import Mapping, Optional, Sequence

from .theme import GRID, INK, INK2, LINE, paint

#: One colour per series, in order; colour-blind safe (Okabe & Ito 2008).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")

WIDTH = 460
HEIGHT = 230
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 26, 42


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _nice_max(v: float) -> float:
    """The smallest 'round' number (1, 2 or 5 times a power of ten) not below ``v``.

    >>> _nice_max(0.37), _nice_max(0.8), _nice_max(3.2)
    (0.5, 1.0, 5.0)
    """
    if not math.isfinite(v) or v <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * p >= v * (1 - 1e-12):
            return float(m * p)
    return float(10 * p)  # pragma: no cover - the loop always returns


def ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Round tick values in ``[lo, hi]``: multiples of 1, 2 or 5 times a power of ten, at most ``most``.

    >>> ticks(-9.6, 9.6)
    [-5.0, 0.0, 5.0]
    >>> ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / most
    p = 10 ** math.floor(math.log10(raw))
    step = next(m * p for m in (1, 2, 5, 10) if m * p >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [float(f"{k * step:.12g}") for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def _frame(title: str, ymax: float, ylabel: str) -> list[str]:
    h = HEIGHT - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cdsl-chart" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f"<title>{html.escape(title or 'chart')}</title>"]
    if title:
        out.append(f'<text class="cdsl-title" x="{LEFT}" y="15" font-size="12" font-weight="bold" '
                   f'{paint(fill=INK)}>{html.escape(title)}</text>')
    for i in range(5):
        y = TOP + h - h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y)}" y2="{_f(y)}" class="cdsl-grid" {paint(stroke=GRID)}/>')
        out.append(f'<text x="{LEFT - 4}" y="{_f(y + 3.5)}" text-anchor="end" {paint(fill=INK2)}>'
                   f"{ymax * i / 4:.3g}</text>")
    out.append(f'<text x="10" y="{_f(TOP + h / 2)}" transform="rotate(-90 10 {_f(TOP + h / 2)})" '
               f'text-anchor="middle" {paint(fill=INK2)}>{html.escape(ylabel)}</text>')
    return out


def _legend(names: Sequence[str], notes: Optional[Mapping[str, str]] = None) -> list[str]:
    """The legend: a swatch and a name per series; ``notes`` (name -> text) are added in brackets."""
    out, x = [], LEFT
    y = HEIGHT - 8
    notes = notes or {}
    for i, name in enumerate(names):
        text = f"{name} ({notes[name]})" if name in notes else name
        out.append(f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text class="cdsl-legend" data-series="{html.escape(name)}" x="{_f(x + 14)}" y="{_f(y)}" '
                   f'{paint(fill=INK)}>{html.escape(text)}</text>')
        x += 24 + 6.5 * len(text)
    return out


def bars_svg(levels: Sequence[str], series: Mapping[str, Optional[Sequence[float]]], *, title: str = "",
             errors: Optional[Mapping[str, Optional[Sequence[float]]]] = None,
             notes: Optional[Mapping[str, str]] = None,
             intervals: Optional[Mapping[str, Optional[Sequence[tuple]]]] = None) -> str:
    """Grouped bars: one group per level, one bar per series (``None`` leaves a series out).

    Each bar is ``<rect class="cdsl-bar" data-series=... data-level=... data-value=...>``,
    so a test (or a page) can read the numbers back. ``errors`` draws ± one
    standard error as a whisker; ``notes`` (series -> text) go in the legend.

    >>> svg = bars_svg(["no", "yes"], {"seeing": [0.3, 0.7]}, errors={"seeing": [0.01, 0.01]})
    >>> 'data-level="yes" data-value="0.7"' in svg, svg.count('class="cdsl-whisker"')
    (True, 2)
    """
    names = [k for k, v in series.items() if v is not None]
    errors = errors or {}
    intervals = intervals or {}
    vals = [float(x) for k in names for x in series[k]]
    vals += [float(iv[1]) for k in names for iv in (intervals.get(k) or ())]
    ymax = _nice_max(max(vals, default=1.0))
    h = HEIGHT - TOP - BOTTOM
    out = _frame(title, ymax, "probability")
    gw = (WIDTH - LEFT - RIGHT) / max(1, len(levels))
    bw = min(34.0, 0.8 * gw / max(1, len(names)))
    for j, level in enumerate(levels):
        x0 = LEFT + j * gw + (gw - bw * len(names)) / 2
        for i, name in enumerate(names):
            v = float(series[name][j])
            bh = h * max(0.0, v) / ymax
            x = x0 + i * bw
            out.append(f'<rect class="cdsl-bar" data-series="{html.escape(name)}" data-level="{html.escape(str(level))}" '
                       f'data-value="{v:.6g}" x="{_f(x + 1)}" y="{_f(TOP + h - bh)}" width="{_f(bw - 2)}" '
                       f'height="{_f(bh)}" fill="{PALETTE[i % len(PALETTE)]}"><title>{html.escape(name)}: '
                       f"{v:.4f}</title></rect>")
            err = errors.get(name)
            if err is not None and err[j]:
                e = h * float(err[j]) / ymax
                cx = x + bw / 2
                top, bot = TOP + h - bh - e, TOP + h - bh + e
                out.append(f'<path class="cdsl-whisker" d="M{_f(cx)},{_f(top)} V{_f(bot)} M{_f(cx - 3)},{_f(top)} '
                           f'h6 M{_f(cx - 3)},{_f(bot)} h6" {paint(stroke=LINE)} fill="none"/>')
            ivs = intervals.get(name)
            if ivs is not None:  # a credible interval: from its lower to its upper end
                lo_v, hi_v = (float(t) for t in ivs[j])
                cx = x + bw / 2
                top, bot = TOP + h - h * hi_v / ymax, TOP + h - h * lo_v / ymax
                out.append(f'<path class="cdsl-interval" data-series="{html.escape(name)}" '
                           f'data-level="{html.escape(str(level))}" data-lo="{lo_v:.6g}" data-hi="{hi_v:.6g}" '
                           f'd="M{_f(cx)},{_f(top)} V{_f(bot)} M{_f(cx - 4)},{_f(top)} h8 M{_f(cx - 4)},{_f(bot)} h8" '
                           'stroke="currentColor" stroke-width="1.4" fill="none"/>')
        out.append(f'<text x="{_f(LEFT + (j + 0.5) * gw)}" y="{_f(TOP + h + 14)}" text-anchor="middle" '
                   f'{paint(fill=INK)}>{html.escape(str(level))}</text>')
    out += _legend(names, notes)
    out.append("</svg>")
    return "".join(out)


#: Outlines after the first are dashed, so that a series equal to an earlier one shows through it.
DASHES = ("", "7,4", "2,3", "9,3,2,3")


def histograms_svg(edges: Sequence[float], series: Mapping[str, Optional[Sequence[float]]], *, title: str = "",
                   means: Optional[Mapping[str, Optional[float]]] = None, xlabel: str = "",
                   notes: Optional[Mapping[str, str]] = None,
                   outside: Optional[Mapping[str, tuple[float, float]]] = None,
                   intervals: Optional[Mapping[str, Optional[tuple]]] = None, ylabel: str = "density") -> str:
    """Step outlines of densities over the bins ``edges`` (``len(edges) - 1`` values per series).

    ``means`` marks each series' mean with a dashed vertical line. Each outline is
    ``<path class="cdsl-hist" data-series=...>``, each mean ``<line class="cdsl-mean" data-value=...>``.
    Outlines after the first are dashed (:data:`DASHES`) and ``notes`` go in the
    legend, so equal series stay visible. ``outside`` (series -> fractions below
    and above the axis) is said above the plot (``<text class="cdsl-outside">``):
    the tails are not drawn, rather than piled into the end bins.

    >>> svg = histograms_svg([0, 1, 2], {"doing": [0.25, 0.75]}, means={"doing": 1.25})
    >>> svg.count('class="cdsl-hist"'), 'data-value="1.25"' in svg
    (1, True)
    """
    names = [k for k, v in series.items() if v is not None]
    means = means or {}
    lo, hi = float(edges[0]), float(edges[-1])
    span = hi - lo or 1.0
    ymax = _nice_max(max((float(x) for k in names for x in series[k]), default=1.0))
    h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    out = _frame(title, ymax, ylabel)

    def sx(v: float) -> float:
        return LEFT + plot_w * (min(max(v, lo), hi) - lo) / span

    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        dash = f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else ""
        iv = (intervals or {}).get(name)
        if iv is not None:  # a credible interval: a capped bar near the top, one row per series
            y = TOP + 4 + 7 * i
            a, b = sx(iv[0]), sx(iv[1])
            out.append(f'<path class="cdsl-interval" data-series="{html.escape(name)}" data-lo="{iv[0]:.6g}" '
                       f'data-hi="{iv[1]:.6g}" d="M{_f(a)},{_f(y)} H{_f(b)} M{_f(a)},{_f(y - 3)} V{_f(y + 3)} '
                       f'M{_f(b)},{_f(y - 3)} V{_f(y + 3)}" stroke="{colour}" stroke-width="2.2" fill="none">'
                       f'<title>{html.escape(name)}: {iv[0]:.4g} to {iv[1]:.4g}</title></path>')
        d = [f"M{_f(sx(lo))},{_f(TOP + h)}"]
        for k, dens in enumerate(series[name]):
            y = TOP + h - h * min(max(0.0, float(dens)), ymax) / ymax
            d.append(f"V{_f(y)} H{_f(sx(float(edges[k + 1])))}")
        d.append(f"V{_f(TOP + h)}")
        out.append(f'<path class="cdsl-hist" data-series="{html.escape(name)}" d="{" ".join(d)}" fill="{colour}" '
                   f'fill-opacity="0.12" stroke="{colour}" stroke-width="1.6"{dash}/>')
        m = means.get(name)
        if m is not None and math.isfinite(m):
            out.append(f'<line class="cdsl-mean" data-series="{html.escape(name)}" data-value="{m:.6g}" '
                       f'x1="{_f(sx(m))}" x2="{_f(sx(m))}" y1="{TOP}" y2="{_f(TOP + h)}" stroke="{colour}" '
                       f'stroke-dasharray="4,3" stroke-width="1.4"/>')
    for v in ticks(lo, hi):
        out.append(f'<text x="{_f(sx(v))}" y="{_f(TOP + h + 14)}" text-anchor="middle" {paint(fill=INK)}>{v:.4g}</text>')
    if xlabel:
        out.append(f'<text x="{_f(WIDTH - RIGHT)}" y="{_f(TOP + h + 28)}" text-anchor="end" {paint(fill=INK2)}>'
                   f"{html.escape(xlabel)}</text>")
    out += _outside_note(outside or {}, lo, hi)
    out += _legend(names, notes)
    out.append("</svg>")
    return "".join(out)


def _outside_note(outside: Mapping[str, tuple[float, float]], lo: float, hi: float) -> list[str]:
    """Above the plot, right: how much probability lies left and right of the axis (the most of any series)."""
    below = max((b for b, _ in outside.values()), default=0.0)
    above = max((a for _, a in outside.values()), default=0.0)
    parts = ([f"{_pct(below)} below {lo:.4g}"] if below >= 5e-4 else []) + \
            ([f"{_pct(above)} above {hi:.4g}"] if above >= 5e-4 else [])
    if not parts:
        return []
    return [f'<text class="cdsl-outside" data-below="{below:.6g}" data-above="{above:.6g}" x="{WIDTH - RIGHT}" '
            f'y="{TOP - 6}" text-anchor="end" font-size="10" {paint(fill=INK2)}>not drawn: '
            f"{html.escape(', '.join(parts))}</text>"]


def _pct(p: float) -> str:
    """A probability as a short percentage.

    >>> _pct(0.0123), _pct(0.0004)
    ('1.2%', '0.04%')
    """
    return f"{100 * p:.2g}%"


# ------------------------------------------------------------------ one answer as a picture
# Theme-aware: every stroke and text is ``currentColor``, and the root's colour is JupyterLab's
# font colour (with a fallback for pages without its variables), so the dark theme reads.
_INK = "color: var(--jp-ui-font-color1, #333)"
SMALL_W, SMALL_H = 380, 170
S_LEFT, S_RIGHT, S_TOP, S_BOTTOM = 44, 14, 24, 34


def _small_frame(title: str, kind: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="cdsl-chart cdsl-answer-chart" data-kind="{kind}" '
            f'width="{SMALL_W}" height="{SMALL_H}" viewBox="0 0 {SMALL_W} {SMALL_H}" style="{_INK}" '
            'font-family="Helvetica, Arial, sans-serif" font-size="11">',
            f"<title>{html.escape(title)}</title>",
            f'<text x="{S_LEFT}" y="14" font-size="11.5" font-weight="bold" fill="currentColor">'
            f"{html.escape(_clip(title, 58))}</text>"]


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _y_axis(ymax: float, label: str) -> list[str]:
    h = SMALL_H - S_TOP - S_BOTTOM
    out = []
    for i in range(3):
        y = S_TOP + h - h * i / 2
        out.append(f'<line x1="{S_LEFT}" x2="{SMALL_W - S_RIGHT}" y1="{_f(y)}" y2="{_f(y)}" stroke="currentColor" '
                   'stroke-opacity="0.15"/>')
        out.append(f'<text x="{S_LEFT - 4}" y="{_f(y + 3.5)}" text-anchor="end" fill="currentColor" '
                   f'fill-opacity="0.75">{ymax * i / 2:.3g}</text>')
    out.append(f'<text x="10" y="{_f(S_TOP + h / 2)}" transform="rotate(-90 10 {_f(S_TOP + h / 2)})" '
               f'text-anchor="middle" fill="currentColor" fill-opacity="0.75">{html.escape(label)}</text>')
    return out


def distribution_svg(labels: Sequence[str], probs: Sequence[float], *, title: str,
                     intervals: Optional[Sequence[Optional[tuple]]] = None, caption: str = "") -> str:
    """A discrete distribution as bars (the answer), with credible intervals as whiskers where given.

    Each bar is ``<rect class="cdsl-bar" data-level=... data-value=...>`` with height
    proportional to its probability; each interval ``<path class="cdsl-interval"
    data-lo=... data-hi=...>``.

    >>> svg = distribution_svg(["0", "1"], [0.25, 0.75], title="P(y)", intervals=[(0.2, 0.3), (0.7, 0.8)])
    >>> svg.count('class="cdsl-bar"'), svg.count('class="cdsl-interval"'), 'data-value="0.75"' in svg
    (2, 2, True)
    """
    h = SMALL_H - S_TOP - S_BOTTOM
    hi_all = max([float(p) for p in probs] + [float(iv[1]) for iv in (intervals or ()) if iv is not None])
    ymax = _nice_max(hi_all)
    out = _small_frame(title, "bars") + _y_axis(ymax, "probability")
    gw = (SMALL_W - S_LEFT - S_RIGHT) / max(1, len(labels))
    bw = min(40.0, 0.7 * gw)
    for j, (lab, p) in enumerate(zip(labels, probs)):
        p = float(p)
        x = S_LEFT + j * gw + (gw - bw) / 2
        bh = h * max(0.0, p) / ymax
        out.append(f'<rect class="cdsl-bar" data-level="{html.escape(str(lab))}" data-value="{p:.6g}" '
                   f'x="{_f(x)}" y="{_f(S_TOP + h - bh)}" width="{_f(bw)}" height="{_f(bh)}" '
                   f'fill="{PALETTE[0]}"><title>{html.escape(str(lab))}: {p:.4f}</title></rect>')
        iv = intervals[j] if intervals else None
        if iv is not None:
            cx = x + bw / 2
            top, bot = S_TOP + h - h * float(iv[1]) / ymax, S_TOP + h - h * float(iv[0]) / ymax
            out.append(f'<path class="cdsl-interval" data-level="{html.escape(str(lab))}" data-lo="{iv[0]:.6g}" '
                       f'data-hi="{iv[1]:.6g}" d="M{_f(cx)},{_f(top)} V{_f(bot)} M{_f(cx - 4)},{_f(top)} h8 '
                       f'M{_f(cx - 4)},{_f(bot)} h8" stroke="currentColor" stroke-width="1.4" fill="none"/>')
        out.append(f'<text x="{_f(S_LEFT + (j + 0.5) * gw)}" y="{_f(S_TOP + h + 14)}" text-anchor="middle" '
                   f'fill="currentColor">{html.escape(_clip(str(lab), max(4, int(gw / 6.5))))}</text>')
    if caption:
        out.append(f'<text x="{SMALL_W - S_RIGHT}" y="{SMALL_H - 3}" text-anchor="end" fill="currentColor" '
                   f'fill-opacity="0.75">{html.escape(caption)}</text>')
    out.append("</svg>")
    return "".join(out)


def density_svg(edges: Sequence[float], density: Sequence[float], *, title: str, mark: float,
                interval: Optional[tuple] = None, xlabel: str = "", mark_label: str = "answer") -> str:
    """A density over bins (a histogram of draws), the answer ``mark`` as a line, an interval shaded.

    The outline is ``<path class="cdsl-density">`` (its bins in ``data-heights``), the
    answer ``<line class="cdsl-mark" data-value=...>``, the interval ``<rect class="cdsl-interval"
    data-lo=... data-hi=...>``.

    >>> svg = density_svg([0, 1, 2], [0.25, 0.75], title="E[y]", mark=1.25, interval=(0.1, 1.9))
    >>> 'class="cdsl-mark" data-value="1.25"' in svg, 'data-lo="0.1" data-hi="1.9"' in svg
    (True, True)
    """
    h = SMALL_H - S_TOP - S_BOTTOM
    pw = SMALL_W - S_LEFT - S_RIGHT
    lo, hi = float(edges[0]), float(edges[-1])
    span = hi - lo or 1.0
    ymax = _nice_max(max((float(d) for d in density), default=1.0))

    def sx(v: float) -> float:
        return S_LEFT + pw * (min(max(v, lo), hi) - lo) / span

    out = _small_frame(title, "density") + _y_axis(ymax, "density")
    if interval is not None:
        a, b = sx(float(interval[0])), sx(float(interval[1]))
        out.append(f'<rect class="cdsl-interval" data-lo="{interval[0]:.6g}" data-hi="{interval[1]:.6g}" '
                   f'x="{_f(a)}" y="{S_TOP}" width="{_f(max(b - a, 1.0))}" height="{h}" fill="{PALETTE[0]}" '
                   f'fill-opacity="0.13"><title>credible interval {interval[0]:.4g} to {interval[1]:.4g}</title></rect>')
    d = [f"M{_f(sx(lo))},{_f(S_TOP + h)}"]
    for k, dens in enumerate(density):
        d.append(f"V{_f(S_TOP + h - h * min(max(0.0, float(dens)), ymax) / ymax)} H{_f(sx(float(edges[k + 1])))}")
    d.append(f"V{_f(S_TOP + h)}")
    heights = ",".join(f"{float(x):.6g}" for x in density)
    out.append(f'<path class="cdsl-density" data-heights="{heights}" d="{" ".join(d)}" fill="{PALETTE[0]}" '
               f'fill-opacity="0.25" stroke="{PALETTE[0]}" stroke-width="1.4"/>')
    if math.isfinite(mark):
        out.append(f'<line class="cdsl-mark" data-value="{mark:.6g}" x1="{_f(sx(mark))}" x2="{_f(sx(mark))}" '
                   f'y1="{S_TOP - 2}" y2="{S_TOP + h}" stroke="{PALETTE[5]}" stroke-width="2">'
                   f"<title>{html.escape(mark_label)}: {mark:.6g}</title></line>")
    for v in ticks(lo, hi, 6):
        out.append(f'<text x="{_f(sx(v))}" y="{_f(S_TOP + h + 13)}" text-anchor="middle" fill="currentColor">'
                   f"{v:.4g}</text>")
    if xlabel:
        out.append(f'<text x="{SMALL_W - S_RIGHT}" y="{SMALL_H - 3}" text-anchor="end" fill="currentColor" '
                   f'fill-opacity="0.75">{html.escape(xlabel)}</text>')
    out.append("</svg>")
    return "".join(out)
