"""Bar charts drawn as SVG by the project's own templates: the geometry is computed here.

Templates only loop over the bars and print their numbers; every bar's height is its
value over the chart's largest value, so a bar twice as tall stands for twice as many.
"""

from dataclasses import dataclass, replace

from django.utils.dateformat import format as format_date


def short_number(value: int) -> str:
    """A bar's number as printed above it: "9870", "30k", "1.2M". The exact numbers are in
    the chart's table and its tooltips."""
    if value < 10_000:
        return str(value)
    if (thousands := round(value / 1000)) < 1000:
        return f"{thousands}k"
    return f"{value / 1_000_000:.1f}M"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    kind: str = ""
    # The number printed above the bar; empty where it would overlap another's.
    shown: str = ""

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def value_y(self) -> float:
        """Where the value is printed: just above the bar."""
        return round(self.y - 6, 1)


@dataclass(frozen=True)
class Slot:
    """One position on the x axis with its label and the bars standing on it."""

    label: str
    center: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    slots: list[Slot]
    largest: int

    @property
    def bars(self) -> list[Bar]:
        return [bar for slot in self.slots for bar in slot.bars]

    @property
    def is_empty(self) -> bool:
        return self.largest == 0

    @property
    def label_y(self) -> float:
        return self.height - 10


TOP = 22  # room for the value printed above the tallest bar
BOTTOM = 30  # room for the labels under the axis
# A digit's width in bold type, over the font's size: wide fonts' digits (DejaVu Sans Bold)
# are 0.7 of it, most others' less. The charts' fonts: `.chart__value` in the stylesheet.
DIGIT_WIDTH = 0.7


def _printed(bars: list[Bar], font_size: float) -> list[Bar]:
    """The bars with their numbers printed, the largest first, each where it overlaps no
    number printed before it: a hundred thousand grants a week is six digits, and the
    bars of a week stand closer than that."""

    def box(bar: Bar, text: str) -> tuple[float, float, float, float]:
        half = len(text) * DIGIT_WIDTH * font_size / 2
        return bar.center - half, bar.center + half, bar.value_y - font_size, bar.value_y

    placed: list[tuple[float, float, float, float]] = []
    shown = {}
    for i in sorted(range(len(bars)), key=lambda i: -bars[i].value):
        text = short_number(bars[i].value)
        left, right, top, bottom = box(bars[i], text)
        if any(left < x1 and x0 < right and top < y1 and y0 < bottom for x0, x1, y0, y1 in placed):
            continue
        placed.append((left, right, top, bottom))
        shown[i] = text
    return [replace(bar, shown=shown.get(i, "")) for i, bar in enumerate(bars)]


def bar_chart(
    groups: list[tuple[str, list[tuple[str, int]]]],
    *,
    width: int = 560,
    height: int = 220,
    fill: float = 0.7,
    font_size: float = 13,
) -> BarChart:
    """Bars grouped on slots: `groups` is [(slot label, [(kind, value), ...]), ...]."""
    largest = max((value for _, bars in groups for _, value in bars), default=0)
    plot_height = height - TOP - BOTTOM
    baseline = height - BOTTOM
    slot_width = width / max(len(groups), 1)
    slots = []
    for i, (label, values) in enumerate(groups):
        group_width = slot_width * fill
        bar_width = group_width / max(len(values), 1)
        left = i * slot_width + (slot_width - group_width) / 2
        bars = []
        for j, (kind, value) in enumerate(values):
            bar_height = round(plot_height * value / largest, 1) if largest else 0.0
            bars.append(
                Bar(
                    label=label,
                    value=value,
                    x=round(left + j * bar_width, 1),
                    y=round(baseline - bar_height, 1),
                    width=round(bar_width - (2 if len(values) > 1 else 0), 1),
                    height=bar_height,
                    kind=kind,
                )
            )
        slots.append(Slot(label, round(i * slot_width + slot_width / 2, 1), bars))
    printed = iter(_printed([bar for slot in slots for bar in slot.bars], font_size))
    slots = [replace(slot, bars=[next(printed) for _ in slot.bars]) for slot in slots]
    return BarChart(width, height, baseline, slots, largest)


def completion_chart(distribution: list[tuple[str, int]]) -> BarChart:
    """One bar per completion band: how many customers got that far."""
    return bar_chart(
        [(label, [("completion", count)]) for label, count in distribution],
        width=400,
        height=200,
        fill=0.62,
    )


def weekly_chart(weeks) -> BarChart:
    """Two bars a week: grants and revokes."""
    return bar_chart(
        [
            (
                format_date(week.starts_on, "M j"),
                [("granted", week.granted), ("revoked", week.revoked)],
            )
            for week in weeks
        ],
        # Sized for the column beside the report's table, where it is drawn at about this width.
        width=400,
        height=180,
        fill=0.7,
        font_size=11,  # .chart__value--small
    )
