"""Charts drawn on the server as inline SVG: the geometry is computed here, the markup is a template's
(`admin/charts/bar_chart.html`), and the page needs no script, no stylesheet and no font of its own.

Values come in the house's integer units (Wh, fen, counts) with the number of decimal places of their
display unit (3 for Wh shown as kWh, 2 for fen shown as yuan). Every printed figure, tick labels
included, is an exact decimal made from those integers; only the coordinates are floats.
"""

from collections.abc import Sequence
from dataclasses import dataclass

# Nice steps are 1, 2 or 5 times a power of ten of the base unit, so tick labels are short exact decimals.
STEP_FACTORS = (1, 2, 5)


def nice_step(maximum: int, *, ticks: int = 4) -> int:
    """The smallest step of 1, 2 or 5 × 10^k base units (k ≥ 0) of which `ticks` steps reach `maximum`."""
    magnitude = 1
    while True:
        for factor in STEP_FACTORS:
            step = factor * magnitude
            if step * ticks >= maximum:
                return step
        magnitude *= 10


def scaled_label(value: int, places: int) -> str:
    """An integer count of 10^-places units as the shortest exact decimal: (50_000, 3) -> "50",
    (2_500, 3) -> "2.5", (-5, 2) -> "-0.05"."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**places)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{places}d}".rstrip("0")


@dataclass(frozen=True)
class Tick:
    position: float  # y of a value tick, x of a time tick
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the exact value, shown as the bar's tooltip
    label: str  # under the bar; empty for the bars between labelled ones
    label_x: float


@dataclass(frozen=True)
class Plot:
    """The drawing area inside the margins, in the SVG's user units."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class BarChart:
    name: str  # the chart's HTML id
    caption: str
    unit: str  # the y axis's title
    x_title: str
    width: int
    height: int
    plot: Plot
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]

    # Where the labels go, so that the template does no arithmetic.
    @property
    def tick_label_x(self) -> float:
        return self.plot.left - 6

    @property
    def x_label_y(self) -> float:
        return self.plot.bottom + 14

    @property
    def x_title_y(self) -> float:
        return self.height - 4


def value_ticks(maximum: int, *, places: int, plot: Plot, ticks: int = 4) -> tuple[int, tuple[Tick, ...]]:
    """The top of a value axis from 0 (a whole number of nice steps reaching `maximum`) and its ticks."""
    step = nice_step(maximum, ticks=ticks)
    count = max(1, -(-maximum // step))
    top = step * count
    return top, tuple(
        Tick(position=round(plot.bottom - plot.height * i / count, 1), label=scaled_label(i * step, places))
        for i in range(count + 1)
    )


def bar_chart(
    *,
    name: str,
    caption: str,
    unit: str,
    x_title: str,
    items: Sequence[tuple[str, int, str]],
    places: int,
    label_every: int = 5,
    width: int = 720,
    height: int = 220,
) -> BarChart:
    """A bar per item `(x label, value in base units, tooltip)`, from a zero baseline.

    Every `label_every`-th bar counted back from the last is labelled under the axis, so the latest one
    (today, on a chart of days) always is. A zero value still gets its bar, of no height, with its tooltip.
    """
    plot = Plot(left=56, top=22, right=width - 8, bottom=height - 40)
    maximum = max((value for _label, value, _title in items), default=0)
    top, ticks = value_ticks(max(maximum, 0), places=places, plot=plot)
    slot = plot.width / max(1, len(items))
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, (label, value, title) in enumerate(items):
        bar_height = plot.height * max(value, 0) / top
        x = plot.left + i * slot + gap / 2
        bars.append(Bar(
            x=round(x, 1),
            y=round(plot.bottom - bar_height, 1),
            width=round(slot - gap, 1),
            height=round(bar_height, 1),
            title=title,
            label=label if (len(items) - 1 - i) % label_every == 0 else "",
            label_x=round(x + (slot - gap) / 2, 1),
        ))
    return BarChart(name=name, caption=caption, unit=unit, x_title=x_title, width=width, height=height, plot=plot,
                    bars=tuple(bars), ticks=ticks)
