"""Draw a release graph: the DAG with its branches, and public API size per library.

matplotlib is optional (the ``[plot]`` extra) and imported only inside
:func:`plot_release_graph`; this module reads the graph through its public API only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from elfaudit.errors import GraphError
from elfaudit.model import release_key

if TYPE_CHECKING:
    from elfaudit.releases import ReleaseGraph


def lanes(graph: ReleaseGraph) -> dict[str, int]:
    """A row per branch. A release continues its first parent's row when it is the child
    with the longest future (so the main line stays on row 0); other children open rows."""
    order = graph.releases()
    height: dict[str, int] = {}
    for r in reversed(order):
        height[r] = 1 + max((height[c] for c in graph.children(r)), default=0)
    heir: dict[str, str] = {}
    for r in order:
        kids = graph.children(r)
        if kids:
            # longest future first; on a tie, the lowest release continues the row
            heir[r] = min(kids, key=lambda c: (-height[c], release_key(c)))
    lane: dict[str, int] = {}
    next_lane = 0
    for r in order:
        ps = graph.parents(r)
        if ps and heir.get(ps[0]) == r:
            lane[r] = lane[ps[0]]
        else:
            lane[r] = next_lane
            next_lane += 1
    return lane


def plot_release_graph(graph: ReleaseGraph, path: str, *, title: str | None = None) -> None:
    """Write ``path`` (.svg or .png): the release DAG left to right in release order, one
    row per branch, and below it the public symbol count of each library per release
    (log scale), drawn along the same edges so branches show there too."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".svg", ".png"):
        raise GraphError(path, "plot format must be .svg or .png")
    if len(graph) == 0:
        raise GraphError(path, "the release graph is empty: nothing to plot")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GraphError(path, "plotting needs matplotlib (pip install 'elfaudit[plot]')") from None

    order = graph.releases()
    x = {r: i for i, r in enumerate(order)}
    lane = lanes(graph)
    nlanes = max(lane.values()) + 1
    n = len(order)
    heads = set(graph.heads())
    forks = {r for r in order if len(graph.children(r)) > 1}
    step = max(1, round(n / 45))  # main-line labels: about 45 at most
    width = min(max(9.0, 0.14 * n + 3.0), 40.0)
    top_h = 1.4 + 0.38 * nlanes
    with matplotlib.rc_context({"svg.hashsalt": "elfaudit", "font.size": 9}):
        fig, (ax, ax2) = plt.subplots(
            2,
            1,
            figsize=(width, top_h + 4.4),
            sharex=True,
            gridspec_kw={"height_ratios": [top_h, 3.4], "hspace": 0.12},
        )
        try:
            _draw_dag(ax, graph, order, x, lane, heads, forks, step, n)
            ax.set_ylim(-(nlanes - 1) - 0.7, 1.6)
            ax.set_title(title or f"Release graph: {n} releases, {len(heads)} heads", loc="left")
            _draw_sizes(ax2, graph, order, x)
            ticks = [x[r] for r in order if lane[r] == 0 and x[r] % step == 0]
            ax2.set_xticks(ticks)
            ax2.set_xticklabels([order[t] for t in ticks], rotation=60, ha="right", fontsize=7)
            ax2.set_xlim(-1.5, n + 1.5)
            fig.subplots_adjust(left=0.6 / width, right=1 - 0.3 / width, top=0.94, bottom=0.13)
            if ext == ".svg":
                fig.savefig(path, format="svg", metadata={"Date": None})
            else:
                fig.savefig(path, format="png", dpi=110)
        except OSError as exc:
            raise GraphError(path, f"cannot write: {exc.strerror or exc}") from None
        finally:
            plt.close(fig)


def _draw_dag(
    ax: Any,
    graph: ReleaseGraph,
    order: list[str],
    x: dict[str, int],
    lane: dict[str, int],
    heads: set[str],
    forks: set[str],
    step: int,
    n: int,
) -> None:
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab10")
    for r in order:
        for p in graph.parents(r):
            x0, y0, x1, y1 = x[p], -lane[p], x[r], -lane[r]
            if y0 == y1:
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=1.3, zorder=1)
            else:  # drop from the parent's row, then run along the branch's row
                ax.plot([x0, x0, x1], [y0, y1, y1], color="0.6", lw=1.0, zorder=1)
    for r in order:
        ps = graph.parents(r)
        first_of_lane = not ps or lane[ps[0]] != lane[r]
        main = lane[r] == 0
        ax.scatter(
            [x[r]],
            [-lane[r]],
            s=30 if main else 22,
            color=palette(lane[r] % 10),
            zorder=3,
            edgecolors="white",
            linewidths=0.6,
        )
        label = n <= 45 or r in heads or r in forks or first_of_lane
        label = label or (main and x[r] % step == 0)
        if label and not main and not (r in heads or first_of_lane):
            label = False  # inside a branch only its first and last releases are named
        if label:
            ax.annotate(
                r,
                (x[r], -lane[r]),
                xytext=(2, 5),
                textcoords="offset points",
                rotation=40,
                fontsize=7,
                color="0.15",
                ha="left",
                va="bottom",
            )
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _draw_sizes(ax2: Any, graph: ReleaseGraph, order: list[str], x: dict[str, int]) -> None:
    import matplotlib.pyplot as plt

    for i, lib in enumerate(graph.library_names()):
        color = plt.get_cmap("Dark2")(i % 8)
        pts: dict[str, int] = {}
        for r in order:
            rec = graph.record(r, lib)
            if rec is not None:
                pts[r] = len(rec.symbols)
        for r, count in pts.items():
            for p in graph.parents(r):
                if p in pts:
                    ax2.plot([x[p], x[r]], [pts[p], count], color=color, lw=1.4, zorder=2)
        last = list(pts)[-1]
        ax2.scatter([x[r] for r in pts], list(pts.values()), s=7, color=color, zorder=3, label=lib)
        ax2.annotate(
            f"{pts[last]}",
            (x[last], pts[last]),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=7,
            color=color,
            va="center",
        )
    ax2.set_yscale("log")
    ax2.set_ylabel("public symbols (log)")
    ax2.grid(True, which="both", axis="y", color="0.92")
    ax2.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
    ax2.set_xlabel("releases, in release order")
    for side in ("top", "right"):
        ax2.spines[side].set_visible(False)
