"""Draw a release graph: the DAG with its branches, and public API size per library.

matplotlib is optional (the ``[plot]`` extra) and imported only inside
:func:`plot_release_graph`; this module reads the graph through its public API only.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

from elfaudit.base.errors import GraphError
from elfaudit.base.fileio import atomic_write
from elfaudit.model.tags import release_key

if TYPE_CHECKING:
    from elfaudit.graph.dag import ReleaseGraph


LANE_IN = 0.45  # inches between two rows of the release DAG


def lanes(graph: ReleaseGraph) -> dict[str, int]:
    """A row per branch. A release continues its first parent's row when it is the highest
    release among that parent's children (11.3.0 -> 11.4.0 stays on the main line, row 0,
    while 11.3.0 -> 11.3.1 branches off); another child takes the first row that is free
    from its fork point on, or opens a new one."""
    order = graph.releases()
    heir: dict[str, str] = {}
    for r in order:
        kids = graph.children(r)
        if kids:
            # the main line continues through upstream releases, not distro builds
            # (9.0.0 -> 11.3.0, not 9.0.0 -> debian/11.3.0-2~bpo12+1)
            heir[r] = max(kids, key=lambda k: ("/" not in k, release_key(k)))
    x = {r: i for i, r in enumerate(order)}
    lane: dict[str, int] = {}
    last_x: list[int] = []  # per row: x of its rightmost release so far
    tail: list[str] = []  # per row: that release (a row whose tail has an heir is busy)
    for r in order:
        ps = graph.parents(r)
        if ps and heir.get(ps[0]) == r:
            lane[r] = lane[ps[0]]
        else:
            # reuse the first row (below the main line) that is free from the fork point on
            start = x[ps[0]] if ps else -1
            free = [i for i in range(1, len(last_x)) if last_x[i] < start and tail[i] not in heir]
            if last_x and free:
                lane[r] = free[0]
            else:
                last_x.append(-1)
                tail.append(r)
                lane[r] = len(last_x) - 1
        last_x[lane[r]] = x[r]
        tail[lane[r]] = r
    return lane


def plot_release_graph(graph: ReleaseGraph, path: str, *, title: str | None = None) -> None:
    """Write ``path`` (.svg or .png): the release DAG left to right in release order, one
    row per branch; below it, one strip per library with its public symbol count per
    release, drawn along the same edges so branches show there too."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".svg", ".png"):
        raise GraphError(path, "plot format must be .svg or .png")
    if len(graph) == 0:
        raise GraphError(path, "the release graph is empty: nothing to plot")
    try:
        import matplotlib  # noqa: TID251 - its home

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: TID251 - its home
    except ImportError:
        raise GraphError(path, "plotting needs matplotlib (pip install 'elfaudit[plot]')") from None

    order = graph.releases()
    x = {r: i for i, r in enumerate(order)}
    lane = lanes(graph)
    nlanes = max(lane.values()) + 1
    n = len(order)
    libs = graph.library_names()
    heads = set(graph.heads())
    forks = {r for r in order if len(graph.children(r)) > 1}
    step = max(1, round(n / 40))  # name about 40 main-line releases at most
    width = min(max(9.0, 0.11 * n + 3.0), 40.0)
    # Room for the rotated names: main-line names go up, branch names go down (so they
    # do not run across the main line). About 0.04 in of height per character at 7 pt.
    main_len = max(len(r) for r in order if lane[r] == 0)
    branch_len = max((len(r) for r in order if lane[r] != 0), default=0)
    top_in = max(0.55, 0.15 + 0.04 * main_len)
    below_in = max(0.35, 0.15 + 0.04 * branch_len) if branch_len else 0.35
    dag_h = LANE_IN * (nlanes - 1) + top_in + below_in
    lib_h = 1.0
    ratios = [dag_h] + [lib_h] * len(libs)
    ticks = [x[r] for r in order if lane[r] == 0 and x[r] % step == 0]
    bottom_in = max(0.8, 0.45 + 0.047 * max(len(order[t]) for t in ticks))
    rows, hspace = 1 + len(libs), 0.25
    # the gaps between strips (hspace, a fraction of the mean strip height) come on top
    body_in = sum(ratios) * (rows + hspace * (rows - 1)) / rows
    with matplotlib.rc_context({"svg.hashsalt": "elfaudit", "font.size": 9}):
        fig, axes = plt.subplots(
            rows,
            1,
            figsize=(width, body_in + 0.45 + bottom_in),
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": ratios, "hspace": hspace},
        )
        try:
            ax = axes[0][0]
            _draw_dag(ax, graph, order, x, lane, heads, forks, step, n)
            ax.set_title(
                title or f"Release graph: {n} releases, {len(heads)} heads (branch tips)",
                loc="left",
                fontsize=11,
            )
            for i, lib in enumerate(libs):
                _draw_size(axes[1 + i][0], graph, lib, i, order, x, lane, first=i == 0)
            bottom = axes[-1][0]
            bottom.set_xticks(ticks)
            bottom.set_xticklabels([order[t] for t in ticks], rotation=60, ha="right", fontsize=7)
            bottom.set_xlim(-1.5, n + 1.5)
            bottom.set_xlabel("releases, in release order")
            fig.subplots_adjust(
                left=0.9 / width,
                right=1 - 0.5 / width,
                top=1 - 0.45 / fig.get_figheight(),
                bottom=bottom_in / fig.get_figheight(),
            )
            # Now that the layout is fixed, give the names their room in real inches.
            h_in = ax.get_position().height * fig.get_figheight()
            gap = max(0.2, (h_in - top_in - below_in) / (nlanes - 1)) if nlanes > 1 else LANE_IN
            ax.set_ylim(-(nlanes - 1) - below_in / gap, (h_in - below_in) / gap - (nlanes - 1))
            buf = io.BytesIO()
            if ext == ".svg":
                fig.savefig(buf, format="svg", metadata={"Date": None})
            else:
                fig.savefig(buf, format="png", dpi=100)
        finally:
            plt.close(fig)
    atomic_write(path, buf.getvalue(), error=GraphError)


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
    import matplotlib.pyplot as plt  # noqa: TID251 - its home

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
        if main:
            label = n <= 45 or r in heads or r in forks or first_of_lane or x[r] % step == 0
        else:  # a branch is named by its tip (and its first release when it is long)
            label = n <= 45 or r in heads or (first_of_lane and _row_length(r, lane, graph) > 4)
        if label:
            ax.annotate(
                r,
                (x[r], -lane[r]),
                xytext=(2, 5) if main else (2, -5),
                textcoords="offset points",
                rotation=40 if main else -40,
                rotation_mode="anchor",
                fontsize=7,
                color="0.15",
                ha="left",
                va="bottom" if main else "top",
            )
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _row_length(first: str, lane: dict[str, int], graph: ReleaseGraph) -> int:
    """How many releases follow ``first`` on its row (itself included), bounded by the graph."""
    count, cur = 1, first
    for _ in range(len(graph)):
        nxt = [c for c in graph.children(cur) if lane[c] == lane[first]]
        if not nxt:
            break
        cur = nxt[0]
        count += 1
    return count


def _draw_size(
    ax: Any,
    graph: ReleaseGraph,
    lib: str,
    i: int,
    order: list[str],
    x: dict[str, int],
    lane: dict[str, int],
    *,
    first: bool,
) -> None:
    """One library's public symbol count per release, drawn along the graph's edges."""
    import matplotlib.pyplot as plt  # noqa: TID251 - its home

    color = plt.get_cmap("Dark2")(i % 8)
    pts: dict[str, int] = {}
    for r in order:
        rec = graph.record(r, lib)
        if rec is not None:
            pts[r] = len(rec.symbols)
    for r, count in pts.items():
        for p in graph.parents(r):
            if p in pts:
                main = lane[r] == 0
                ax.plot(
                    [x[p], x[r]],
                    [pts[p], count],
                    color=color,
                    zorder=2,
                    lw=1.4 if main else 1.0,
                    ls="-" if main else "--",
                    alpha=1.0 if main else 0.7,
                )
    ax.scatter([x[r] for r in pts], list(pts.values()), s=6, color=color, zorder=3)
    low, high = min(pts.values()), max(pts.values())
    pad = max(1.0, (high - low) * 0.15)
    ax.set_ylim(max(0.0, low - pad), high + pad)
    ax.yaxis.get_major_locator().set_params(nbins=3, integer=True)
    ax.text(
        0.005,
        0.92,
        f"{lib}: {low} to {high} public symbols" if low != high else f"{lib}: {low} public symbols",
        transform=ax.transAxes,
        fontsize=8,
        color=color,
        va="top",
        ha="left",
        fontweight="bold",
    )
    if first:
        ax.set_title("public API size per library", loc="left", fontsize=9, color="0.3")
    ax.grid(True, axis="y", color="0.92")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
