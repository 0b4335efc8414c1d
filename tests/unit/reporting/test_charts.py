"""The dashboard's charts: one bar-chart geometry for every chart, and every chart rendered as an SVG immediately
followed by a table holding the same numbers; scalar figures shown formatted, with their key and scope."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest

from services.reporting import dashboard, figures
from services.reporting.dashboard import FORMATS, bar_chart
from services.reporting.open_data import LICENCE


def test_bars_are_scaled_so_the_largest_reaches_the_top():
    chart = bar_chart(["a", "b", "c"], [("ideas", [0, 5, 10])], width=300, height=160)
    assert [b["h"] for b in chart["bars"]] == [0, 70.0, 140.0]  # 140 = height - 20
    assert [b["y"] for b in chart["bars"]] == [160, 90.0, 20.0]
    assert [b["x"] for b in chart["bars"]] == [20.0, 120.0, 220.0]  # a slot of 100 each, bars centred in it
    assert {b["w"] for b in chart["bars"]} == {60.0}  # 70% of the slot, but no wider than 60
    assert [b["cx"] for b in chart["bars"]] == [50.0, 150.0, 250.0]
    assert chart["top"] == 10 and chart["series"] == ["ideas"]
    assert [(t["x"], t["lines"]) for t in chart["ticks"]] == [(50.0, ["a"]), (150.0, ["b"]), (250.0, ["c"])]
    assert chart["legend"] == [] and chart["view_height"] == 160 + 16 + 8  # the labels' line under the axis


def test_a_lone_bar_stays_narrow_and_centred():
    (bar,) = bar_chart(["2025-26 Q4"], [("budget", [1500.0])], fmt="money", width=600)["bars"]
    assert (bar["x"], bar["w"], bar["h"]) == (270.0, 60.0, 140.0)
    assert bar["shown"] == "£1,500"  # its value above it: it fits


def test_long_labels_go_on_two_lines_or_else_every_other_one_is_left_out():
    weeks = [f"{d} Mar 2026" for d in range(1, 13)]  # 10 characters, 50 units apart: 7 characters a line
    chart = bar_chart(weeks, [("ideas", [1] * 12)], width=600)
    assert [t["lines"] for t in chart["ticks"]][:2] == [["1 Mar", "2026"], ["2 Mar", "2026"]]
    assert len(chart["ticks"]) == 12 and chart["view_height"] == 160 + 16 + 14 + 8
    themes = [f"net-zero-{n:02}" for n in range(12)]  # one word of 11 characters: no line break helps
    chart = bar_chart(themes, [("budget", [1] * 12)], width=600)
    assert [t["lines"] for t in chart["ticks"]] == [[t] for t in themes[::2]]  # 11 * 7 = 77 > 50: every other
    # The first label, 77 wide, would start at 25 - 38.5 < 0: it moves in just enough to be whole.
    assert [t["x"] for t in chart["ticks"]][:2] == [38.5, 125.0]


@pytest.mark.parametrize("count", [1, 3, 11, 12, 40])
def test_every_label_stays_within_the_chart(count):
    months = [date(2026, 1, 1) + timedelta(days=31 * n) for n in range(count)]
    chart = bar_chart([m.strftime("%B %Y") for m in months], [("people", [1] * count)], width=600)
    for tick in chart["ticks"]:
        half = max(map(len, tick["lines"])) * dashboard.CHAR_WIDTH / 2
        assert 0 <= tick["x"] - half and tick["x"] + half <= 600, tick


def test_a_value_too_wide_for_its_bar_is_left_to_the_tooltip_and_the_table():
    chart = bar_chart(["a"] * 12, [("ideas", [1234567] * 12)], width=600)
    assert {b["shown"] for b in chart["bars"]} == {None}  # "1,234,567" is wider than a 35-unit bar
    assert {b["text"] for b in chart["bars"]} == {"a: 1,234,567"}
    assert bar_chart(["a"] * 12, [("ideas", [12] * 12)], width=600)["bars"][0]["shown"] == "12"


def test_series_sit_side_by_side_inside_their_group():
    chart = bar_chart(["impact", "feasibility"], [("backed", [4, 3]), ("declined", [2, 1])], width=200, top=5)
    backed_1, declined_1, backed_2, declined_2 = chart["bars"]
    assert [b["series"] for b in chart["bars"]] == [0, 1, 0, 1]
    assert backed_1["w"] == declined_1["w"] == 35.0  # 70% of a 100 slot shared by two series
    assert declined_1["x"] == backed_1["x"] + backed_1["w"]
    assert declined_1["x"] + declined_1["w"] < backed_2["x"]  # a gap between groups
    assert declined_2["x"] + declined_2["w"] <= 200
    assert backed_1["h"] == 4 / 5 * 140 and declined_2["h"] == 1 / 5 * 140  # scaled to the fixed top, not to 4
    assert [(k["name"], k["series"], k["y"]) for k in chart["legend"]] == [("backed", 0, 200), ("declined", 1, 218)]
    assert chart["view_height"] == 218 + 8


def test_a_missing_value_draws_no_bar_and_reads_as_none():
    chart = bar_chart(["backed", "declined"], [("score", [2.5, None])], fmt="two_places", top=5)
    assert [b["h"] for b in chart["bars"]] == [70.0, 0]
    assert [b["text"] for b in chart["bars"]] == ["backed: 2.50", "declined: –"]


@pytest.mark.parametrize("series", [[("ideas", [])], [("ideas", [0, 0, 0])], [("ideas", [None, None])]])
def test_no_data_draws_flat_bars_without_dividing_by_zero(series):
    labels = ["x"] * len(series[0][1])
    chart = bar_chart(labels, series)
    assert all(b["h"] == 0 and b["y"] == chart["height"] for b in chart["bars"])
    assert len(chart["bars"]) == len(labels)


def test_each_bar_names_its_label_series_and_formatted_value():
    chart = bar_chart(["2026-27 Q1"], [("dwp", [1234.0]), ("all", [98765.4])], fmt="money")
    assert [b["text"] for b in chart["bars"]] == ["2026-27 Q1, dwp: £1,234", "2026-27 Q1, all: £98,765"]


def test_the_weekly_chart_draws_the_last_twelve_weeks_and_its_table_holds_every_weekly_metric():
    weeks = [{"week": date(2026, 1, 5) + timedelta(days=7 * i), **dict.fromkeys(figures.TIMESERIES_METRICS, 0),
              "ideas_raised": i, "endorsements": 100 + i} for i in range(14)]
    chart = dashboard.weekly(weeks)
    assert [b["text"] for b in chart["geometry"]["bars"]][:2] == ["19 Jan 2026: 2", "26 Jan 2026: 3"]
    assert len(chart["geometry"]["bars"]) == len(chart["table"]["rows"]) == 12
    first = chart["table"]["rows"][0]
    assert first["header"] == "19 Jan 2026" and [c["text"] for c in first["cells"]] == ["2", "102", "0", "0", "0"]
    assert dashboard.weekly([]) is None


def test_formats():
    assert FORMATS["money"](1234567.8) == "£1,234,568"
    assert FORMATS["count"](12000) == "12,000"
    assert FORMATS["one_place"](2.333) == "2.3"
    assert FORMATS["two_places"](5.714) == "5.71"
    assert FORMATS["percent"](0.333) == "33.3%"
    assert {FORMATS[f](None) for f in FORMATS} == {"–"}


# Pages rendered from figures in the shapes of figures.all_figures and the breakdowns (values made up).

def shaped(n: float) -> dict:
    """A scope's figures, every value distinct per scope (n: 1 for the department, 10 for all of government)."""
    scores = lambda x: {"ideas_reviewed": int(2 * n), **{k: x for k in ("impact", "feasibility", "value_for_money",
                                                                        "alignment", "overall")}}
    return figures._empty() | {
        "ideas_raised": int(5 * n), "participants": int(9 * n), "conversations": int(n),
        "conversation_participants": int(12 * n),
        "resources": {"ideas_backed": int(3 * n), "budget_gbp": 2100.0 * n, "staff_days": 5.0 * n,
                      "mean_timebox_weeks": 2.33,
                      "running": {"experiments": int(n), "budget_gbp": 1000.0 * n, "staff_days": 5.0 * n,
                                  "squad_size": int(3 * n)},
                      "by_result": {"succeeded": {"ideas": int(n), "budget_gbp": 2000.0 * n, "staff_days": 3.0 * n},
                                    "failed": {"ideas": int(n), "budget_gbp": 100.0 * n, "staff_days": 1.0 * n},
                                    "inconclusive": {"ideas": 0, "budget_gbp": 0.0, "staff_days": 0.0},
                                    "no_outcome": {"ideas": int(n), "budget_gbp": 0.0, "staff_days": 1.0 * n}}},
        "return_claimed": {"budget_gbp": 2100.0 * n, "staff_days": 4.0 * n, "cash_savings_gbp_per_year": 12000.0 * n,
                           "hours_saved_per_year": 300.0 * n, "cash_savings_per_gbp": 5.71,
                           "hours_saved_per_staff_day": 75.0,
                           "learnings_per_experiment": {"all": 1.5, "succeeded": 2.0, "failed": 1.0,
                                                        "inconclusive": None}},
        "judgement": {"backed": scores(3.5 if n == 1 else 3.25), "declined": scores(None) | {"ideas_reviewed": 0},
                      "decline_reasons": {"duplicate": int(n), "out_of_scope": 0, "not_feasible": int(2 * n),
                                          "insufficient_evidence": 0, "other": 0},
                      "decisions": int(4 * n), "median_days_to_decision": 6.2, "median_days_to_backing": 10.0,
                      "median_days_to_decline": None,
                      "waiting": {"ideas": int(4 * n), "over_2_weeks": int(3 * n), "over_4_weeks": int(2 * n),
                                  "over_8_weeks": int(n)}},
        "front_line": {"ideas_from_conversations": int(n), "share_from_conversations": 0.2},
    }


def quarter(name: str, starts_on: date, n: float) -> dict:
    return {"quarter": name, "starts_on": starts_on, "ideas_backed": int(2 * n), "budget_gbp": 1500.0 * n,
            "staff_days": 2.5 * n}


EVERY = {"dwp": shaped(1), figures.ALL: shaped(10)}
BREAKDOWNS = {
    "quarters": [quarter("2025-26 Q4", date(2026, 1, 1), 1)],
    "government_quarters": [quarter("2025-26 Q4", date(2026, 1, 1), 10), quarter("2026-27 Q1", date(2026, 4, 1), 7)],
    "themes": [{"theme": "ai", "ideas_backed": 2, "budget_gbp": 2000.0, "staff_days": 4.0, "outcomes": 1,
                "learnings": 2, "learnings_per_experiment": 2.0, "return_budget_gbp": 2000.0, "return_staff_days": 3.0,
                "cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": 300.0, "cash_savings_per_gbp": 6.0,
                "hours_saved_per_staff_day": 100.0}],
    "months": [{"month": date(2026, 3, 1), "people": 9, "new_people": 9, "conversations": 1,
                "conversation_participants": 12, "ideas_raised": 5, "ideas_from_conversations": 1},
               {"month": date(2026, 4, 1), "people": 2, "new_people": 0, "conversations": 0,
                "conversation_participants": 0, "ideas_raised": 0, "ideas_from_conversations": 0}],
    "campaigns": [{"campaign": "one-big-thing", "ideas": 1, "backed": 1, "departments": 1, "people": 3,
                   "endorsements": 2}],
}
PAGE = {"navigation": dashboard.DEPARTMENT_NAVIGATION, "refresh_seconds": 10, "simulated": [], "styles": False,
        "open_government_licence": LICENCE["url"]}


class Page(HTMLParser):
    """What the tests read from a page: scalar figures (key, scope, text) and the charts with their tables."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.figures: dict[tuple[str, str], str] = {}
        self.charts: list[dict] = []
        self._figure: tuple[str, str] | None = None
        self._text: list[str] | None = None
        self._chart: dict | None = None
        self._in: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-figure" in a:
            self._figure, self._text = (a["data-figure"], a.get("data-scope", "")), []
        if tag == "svg":
            self._chart = {"title": "", "bars": [], "cells": [], "next": None}
            self.charts.append(self._chart)
        elif self._chart is not None and self._chart["next"] is None and "svg" not in self._in:
            self._chart["next"] = tag  # the first element after the SVG
        if tag in ("title", "td", "th"):
            self._in.append(tag)
            self._text = self._text if self._figure else []
        elif tag == "svg":
            self._in.append(tag)

    def handle_endtag(self, tag):
        if self._figure and tag in ("td", "span", "dd"):
            self.figures[self._figure] = "".join(self._text).strip()
            self._figure = None
        if tag in ("title", "td", "th", "svg") and self._in and self._in[-1] == tag:
            self._in.pop()
            text = "".join(self._text or []).strip()
            if self._chart is not None:
                if tag == "title" and "svg" in self._in:
                    if self._chart["title"]:
                        self._chart["bars"].append(text)
                    else:
                        self._chart["title"] = text
                elif tag in ("td", "th") and self._chart["next"] == "table":
                    self._chart["cells"].append(text)
        if tag == "table" and self._chart is not None and "svg" not in self._in:
            self._chart = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def department_page() -> Page:
    return Page(dashboard.department_html("dwp", EVERY, **BREAKDOWNS, page=PAGE))


def test_every_chart_is_an_svg_with_a_title_followed_by_a_table_of_its_numbers():
    page = department_page()
    assert len(page.charts) == 5  # by quarter, scores, decline reasons, waiting, people per month
    for chart in page.charts:
        assert chart["title"] and chart["next"] == "table", chart
        assert chart["bars"], chart
        for bar in chart["bars"]:
            assert bar.rsplit(": ", 1)[1] in chart["cells"], (bar, chart["cells"])
    html = dashboard.department_html("dwp", EVERY, **BREAKDOWNS, page=PAGE)
    assert len(re.findall(r'<svg [^>]*role="img"', html)) == 5
    assert len(re.findall(r"</svg>\s*<table class=\"govuk-table\">", html)) == 5


def test_a_department_page_shows_each_figure_for_the_department_beside_all_of_government():
    page = department_page()
    keys = {key for key, _ in page.figures}
    for key in ("resources.budget_gbp", "resources.running.squad_size", "resources.by_result.no_outcome.staff_days",
                "return_claimed.cash_savings_per_gbp", "return_claimed.learnings_per_experiment.failed",
                "judgement.backed.overall", "judgement.declined.impact", "judgement.decline_reasons.not_feasible",
                "judgement.waiting.over_8_weeks", "judgement.median_days_to_decline",
                "front_line.share_from_conversations", "conversation_participants", "ideas_raised"):
        assert key in keys
    for key in keys - {"events", "last_event_at"}:
        fmt = next(f for f in FORMATS if FORMATS[f](dashboard.value_at(EVERY["dwp"], key)) == page.figures[key, "dwp"])
        assert page.figures[key, "all"] == FORMATS[fmt](dashboard.value_at(EVERY[figures.ALL], key)), key
    assert page.figures["resources.budget_gbp", "dwp"] == "£2,100"
    assert page.figures["resources.budget_gbp", "all"] == "£21,000"
    assert page.figures["return_claimed.learnings_per_experiment.inconclusive", "dwp"] == "–"
    assert page.figures["judgement.backed.overall", "all"] == "3.25"
    assert page.figures["front_line.share_from_conversations", "dwp"] == "20.0%"


def test_a_department_quarter_has_the_government_figure_of_the_same_quarter_beside_it():
    quarters = department_page().charts[0]
    assert quarters["cells"] == ["Quarter", "Ideas backed (dwp)", "Budget backed (dwp)", "Staff days backed (dwp)",
                                 "Ideas backed (All of government)", "Budget backed (All of government)",
                                 "Staff days backed (All of government)",
                                 "2025-26 Q4", "2", "£1,500", "2.5", "20", "£15,000", "25.0"]


def test_breakdowns_absent_say_so_instead_of_drawing_an_empty_chart():
    empty = {k: [] for k in BREAKDOWNS}
    html = dashboard.department_html("dwp", EVERY, **empty, page=PAGE)
    assert len(re.findall(r"<svg ", html)) == 3  # scores, decline reasons, waiting: scalar figures, always there
    assert "No idea backed yet." in html and "No one has taken part yet." in html
