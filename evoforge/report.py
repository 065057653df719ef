"""`evoforge report`: one self-contained HTML file describing a run, to attach to a paper or an issue.

Everything is inline (CSS, PNG charts drawn by matplotlib as data URIs, the chart data as JSON, the
highlighted code with inline styles), so the file opens anywhere, offline, on its own. It shows the
same curves as the dashboard's run view, the best program, the chain of ancestors that led to it and
the diff of each step of that chain. matplotlib comes with the ``[report]`` extra.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from evoforge.dashboard.highlight import highlight_code, highlight_diff
from evoforge.dashboard.queries import RunReader

CHART_POINTS = 2000  # series points drawn per chart; longer runs are downsampled (exact best curve)
MAX_CHAIN_DIFFS = 50  # steps of the diff chain shown, the last ones (nearest the best program)

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
.code pre { background: #f8f8f8; border: 1px solid #ddd; padding: .6em; overflow: auto; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def _png(figure: Any) -> str:
    """A matplotlib figure as an inline PNG data URI (closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _best_so_far(scores: list[float | None]) -> list[float | None]:
    best: float | None = None
    out = []
    for score in scores:
        if score is not None and (best is None or score > best):
            best = score
        out.append(best)
    return out


def charts(series: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI) of the score per program with the best so far, and the best over time."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a report is written, never shown
    import matplotlib.pyplot as plt

    ids = [point[0] for point in series["points"]]
    scores = [point[1] for point in series["points"]]
    seconds = [point[2] for point in series["points"]]
    best = _best_so_far(scores)
    valid = [(pid, score) for pid, score in zip(ids, scores, strict=True) if score is not None]
    figure, axes = plt.subplots(figsize=(9, 3.6))
    axes.scatter([p for p, _ in valid], [s for _, s in valid], s=6, color="#4a7fc1", label="score")
    axes.step(ids, [b if b is not None else float("nan") for b in best], where="post", color="#d2542d",
              label="best so far")  # fmt: skip
    axes.set(xlabel="program id", ylabel="score")
    axes.legend(loc="lower right")
    over_iterations = _png(figure)
    figure, axes = plt.subplots(figsize=(9, 3.6))
    axes.step(seconds, [b if b is not None else float("nan") for b in best], where="post", color="#d2542d")
    axes.set(xlabel="seconds since start", ylabel="best score")
    over_time = _png(figure)
    return [("Score over iterations", over_iterations), ("Best score over wall time", over_time)]


def render(reader: RunReader) -> str:
    """The report of the run ``reader`` reads, as one HTML document."""
    summary = reader.summary()
    series = reader.series(max_points=CHART_POINTS)
    escape = html.escape
    facts = [
        ("run", summary["run"]),
        ("evaluated programs", summary["evaluated"]),
        ("best score", summary["best_score"]),
        ("best program", summary["best_program_id"]),
        ("wall time (s)", round(summary["elapsed_s"], 1)),
        ("failed generations", sum(summary["failures_by_kind"].values())),
        ("tokens (prompt + completion)",
         f"{summary['tokens']['prompt_tokens']} + {summary['tokens']['completion_tokens']}"),
        ("seed", summary["seed"]),
    ]  # fmt: skip
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>evoforge report: {escape(summary['task'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>evoforge report: {escape(summary['task'])}</h1>",
        "<table>",
        *(f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>" for name, value in facts),
        "</table>",
    ]
    for title, uri in charts(series):
        parts.append(f"<h2>{title}</h2><img alt='{title}' src='{uri}'>")
    best_id = summary["best_program_id"]
    if best_id is not None:
        parts.extend(_best_and_lineage(reader, best_id))
    data = json.dumps({"summary": summary, "series": series}).replace("</", "<\\/")
    parts.append(f"<script type='application/json' id='report-data'>{data}</script></body></html>")
    return "\n".join(parts)


def _best_and_lineage(reader: RunReader, best_id: int) -> list[str]:
    """The best program's code, its chain of ancestors and the diff of each step of it."""
    best = reader.program(best_id)
    assert best is not None  # the summary just named it, and programs are never deleted
    chain = [program for pid in reader.ancestry(best_id) if (program := reader.program(pid)) is not None]
    metrics = sorted(best["metrics"].items())
    parts = [
        f"<h2>Best program #{best_id} (score {best['score']})</h2>",
        "<table>" + "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in metrics),
        "</table>",
        highlight_code(best["code"], inline_styles=True),
        "<h2>Lineage</h2><table><tr><th>program</th><th>score</th><th>operator</th><th>model</th></tr>",
        *(
            f"<tr><td>#{p['id']}</td><td>{p['score']}</td><td>{html.escape(p['mutator'])}</td>"
            f"<td>{html.escape(p['llm_call']['model']) if p['llm_call'] else ''}</td></tr>"
            for p in chain
        ),
        "</table><h2>Diff chain</h2>",
    ]  # fmt: skip
    steps = [p for p in chain if p["diff"]][-MAX_CHAIN_DIFFS:]
    if len(steps) < len([p for p in chain if p["diff"]]):
        parts.append(f"<p>The last {MAX_CHAIN_DIFFS} steps.</p>")
    for program in steps:
        parts.append(f"<h3>#{program['parent_id']} → #{program['id']} ({program['score']})</h3>")
        parts.append(highlight_diff(program["diff"], inline_styles=True))
    return parts


def write_report(reader: RunReader, output: Path) -> None:
    """Write the report to ``output`` (its folder is created if needed)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(reader), encoding="utf-8")
