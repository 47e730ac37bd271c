"""The Progress report's charts drawn in a real Chromium: their numbers stay readable at a
million contacts, where a week holds a hundred thousand grants."""

from datetime import date, timedelta
from itertools import combinations

import pytest
from django.template.loader import render_to_string

from products.charts import completion_chart, short_number, weekly_chart
from purchases.reports.selectors import WeekOfChanges

pytestmark = pytest.mark.django_db(transaction=True)

# The widest numbers of each size, for a week of grants and one of revokes.
LARGE = [99_999, 88_888, 107_200, 999_499, 1_234_567, 12_345, 9_999, 80_500, 67_800, 51_100]


def drawn_values(page, live_server, html: str) -> list[dict]:
    """The chart's printed numbers, each with its box in the chart's own units."""
    page.set_content(
        f'<link rel="stylesheet" href="{live_server.url}/static/css/kajaccess.css">'
        f'<main style="width: 400px">{html}</main>'
    )
    return page.eval_on_selector_all(
        "svg text.chart__value",
        "nodes => nodes.map(n => { const b = n.getBBox();"
        " return {text: n.textContent, left: b.x, right: b.x + b.width,"
        " top: b.y, bottom: b.y + b.height}; })",
    )


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and (a["top"] < b["bottom"] and b["top"] < a["bottom"])
    )


def test_no_two_numbers_of_the_weekly_chart_overlap_however_large(page, live_server):
    monday = date(2026, 11, 30)
    weeks = [
        WeekOfChanges(
            starts_on=monday - timedelta(weeks=11 - i),
            granted=LARGE[i % len(LARGE)],
            revoked=LARGE[(i + 3) % len(LARGE)] // 6,
        )
        for i in range(12)
    ]
    chart = weekly_chart(weeks)
    html = render_to_string("products/partials/weekly_chart.html", {"chart": chart})
    values = drawn_values(page, live_server, html)
    # The largest week's numbers are printed; a number that would overlap one is left out.
    assert {"1.2M", "999k"} <= {v["text"] for v in values}
    assert [v["text"] for v in values] == [bar.shown for bar in chart.bars if bar.shown]
    clashes = [(a["text"], b["text"]) for a, b in combinations(values, 2) if overlaps(a, b)]
    assert clashes == []
    # The exact numbers stay in the bars' tooltips and in the chart's table.
    assert "<title>Nov 30: 88,888 granted</title>" in html
    assert "<td>1234567</td>" in html


def test_no_two_numbers_of_the_completion_chart_overlap_however_large(page, live_server):
    bands = ["0%", "1-25%", "26-50%", "51-75%", "76-99%", "100%"]
    chart = completion_chart(list(zip(bands, LARGE[:6], strict=True)))
    html = render_to_string(
        "products/partials/completion_chart.html", {"chart": chart, "lessons_total": 5}
    )
    values = drawn_values(page, live_server, html)
    assert [v["text"] for v in values] == [short_number(n) for n in LARGE[:6]]
    assert not [(a, b) for a, b in combinations(values, 2) if overlaps(a, b)]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (9_999, "9999"),
        (10_000, "10k"),
        (29_600, "30k"),
        (107_200, "107k"),
        (999_499, "999k"),
        (999_500, "1.0M"),
        (1_234_567, "1.2M"),
    ],
)
def test_a_bars_number_is_printed_short_from_ten_thousand(value, shown):
    assert short_number(value) == shown
