"""The closing table of `make bench`: each figure, its target, its baseline measured in the same run, the ratio.

    python benchmarks/table.py figures.jsonl
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Figure, amount, read_figures  # noqa: E402


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    out = [("figure", "measured", "target", "", "baseline (same run)", "baseline", "ratio")]
    for f in figures:
        target = "" if f.target is None else f"{'>=' if f.higher_is_better else '<'} {amount(f.target, f.unit)}"
        verdict = "" if f.met is None else ("met" if f.met else "NOT MET")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        baseline_value = "" if f.baseline is None else amount(f.baseline_value, f.baseline_unit or f.unit)
        out.append((f.name, amount(f.value, f.unit), target, verdict, f.baseline or "", baseline_value, ratio))
    return out


def render(figures: list[Figure]) -> str:
    table = rows(figures)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    missed = [f.name for f in figures if f.met is False]
    lines.append("")
    lines.append(f"{sum(f.met is True for f in figures)} of {sum(f.met is not None for f in figures)} targets met"
                 + (f"; not met: {'; '.join(missed)}" if missed else ""))
    return "\n".join(lines)


def main() -> None:
    print()
    print(render(read_figures(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
