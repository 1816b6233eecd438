"""Small bar charts as server-side SVG (no JavaScript library): one bar per day or week, with a tooltip.

Pure: values in, markup out (escaped with ``format_html``). The page's CSS colours them (``.cp-chart``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = ["Bar", "bar_chart_svg"]


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (shown for some bars only) and in the tooltip
    value: int
    tooltip: str = ""


def _nice_max(value: int) -> int:
    """The axis' top: 1, 2, 5, 10, 20, 50, ... at or above ``value``."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def bar_chart_svg(
    bars: Sequence[Bar],
    *,
    title: str,
    css_class: str = "",
    width: int = 360,
    height: int = 140,
    label_every: int = 7,
) -> SafeString:
    """A bar chart ``width`` x ``height`` with a y-axis maximum and every ``label_every``-th label under the
    bars (not one too close to the right edge to fit).
    """
    left, right, top, bottom = 28, 6, 8, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((bar.value for bar in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    gap = min(2.0, slot * 0.2)
    rects = []
    labels = []
    for index, bar in enumerate(bars):
        bar_h = plot_h * bar.value / peak if peak else 0
        x = left + index * slot
        rects.append(
            (
                f"{x + gap / 2:.1f}",
                f"{top + plot_h - bar_h:.1f}",
                f"{max(slot - gap, 1):.1f}",
                f"{bar_h:.1f}",
                bar.tooltip or f"{bar.label}: {bar.value}",
            )
        )
        if index % label_every == 0 and len(bars) - index > label_every // 2:
            labels.append((f"{x + slot / 2:.1f}", f"{height - 6}", bar.label))
    return format_html(
        '<svg class="cp-chart {cls}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{title}"><title>{title}</title>'
        '<line class="axis" x1="{left}" y1="{base}" x2="{right_x}" y2="{base}"/>'
        '<line class="grid" x1="{left}" y1="{top}" x2="{right_x}" y2="{top}"/>'
        '<text class="tick" x="{tick_x}" y="{top_text}" text-anchor="end">{peak}</text>'
        '<text class="tick" x="{tick_x}" y="{base}" text-anchor="end">0</text>'
        "{rects}{labels}</svg>",
        cls=css_class,
        w=width,
        h=height,
        title=title,
        left=left,
        right_x=width - right,
        top=top,
        base=top + plot_h,
        tick_x=left - 4,
        top_text=top + 4,
        peak=peak,
        rects=format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            rects,
        ),
        labels=format_html_join(
            "", '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>', labels
        ),
    )
