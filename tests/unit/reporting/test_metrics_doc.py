"""docs/metrics.md is generated from figures.DEFINITIONS: the committed file must be what render() gives now,
and every scalar figure all_figures publishes (every column of /v1/export.csv) must have its definition."""

import re
from pathlib import Path

from services.reporting import figures
from services.reporting.metrics_doc import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"

# What each placeholder of a definition's name stands for.
PLACEHOLDERS = {
    "state": (*figures.IDEA_STATES, *figures.EXPERIMENT_STATES),
    "result": (*figures.LATEST_RESULTS, figures.ALL),
    "score": figures.SCORES,
    "side": ("backed", "declined"),
    "reason": figures.DECLINE_REASONS,
    "stage": figures.FUNNEL_STAGES,
    "from": figures.FUNNEL_STAGES,
    "to": figures.FUNNEL_STAGES,
    "figure": ("experiments", "ideas", "budget_gbp", "staff_days", "squad_size"),
    "n": tuple(str(w) for w in figures.WAITING_WEEKS),
}


def test_the_committed_doc_is_the_generated_one():
    assert DOC.read_text() == render(), (
        "docs/metrics.md is stale: run `python -m services.reporting metrics-doc > docs/metrics.md`")


def test_no_figure_name_breaks_the_markdown_table():
    assert not [name for name in figures.DEFINITIONS if "|" in name]


def _pattern(name: str) -> re.Pattern:
    regex = re.sub(r"<(\w+)>", lambda m: "(?:" + "|".join(map(re.escape, PLACEHOLDERS[m[1]])) + ")",
                   re.escape(name).replace(r"\<", "<").replace(r"\>", ">"))
    return re.compile(regex)


def _columns(prefix: str, value, into: list[str]) -> list[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            _columns(f"{prefix}.{key}" if prefix else key, inner, into)
    else:
        into.append(prefix)
    return into


def test_every_published_figure_is_defined():
    patterns = [_pattern(name) for name in figures.DEFINITIONS]
    columns = _columns("", figures._empty(), [])
    assert len(columns) > 60
    assert not [c for c in columns if not any(p.fullmatch(c) for p in patterns)]
