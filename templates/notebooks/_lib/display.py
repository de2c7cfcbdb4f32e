# qcloop display helpers: tables and charts for a person reading the notebook.
#
# Every chart of synthetic data says so in its title.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams["figure.dpi"] = 80  # keeps the saved notebook small


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:,.2f}%"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.3f}"


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def _count(value: int | None) -> str:
    return "" if value is None else f"{int(value):,d}"


FIGURE_ROWS = (
    ("start", "First day", str),
    ("end", "Last day", str),
    ("total_return", "Total return", _percent),
    ("cagr", "Compounding annual return", _percent),
    ("sharpe", "Sharpe ratio (annual, rf = 0)", _number),
    ("volatility", "Volatility (annual)", _percent),
    ("max_drawdown", "Maximum drawdown", _percent),
    ("orders", "Orders", _count),
    ("trades", "Round trips", _count),
    ("win_rate", "Winning round trips", _percent),
    ("fees", "Fees", _money),
    ("final_equity", "Final equity", _money),
)


def figures_table(named_figures: dict[str, dict | None]) -> pd.DataFrame:
    """A table of figures, one column per name (e.g. baseline, best, robust)."""
    rows = {label: [fmt(f.get(key)) if f else "" for f in named_figures.values()]
            for key, label, fmt in FIGURE_ROWS}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(named_figures))


def chart_title(text: str, synthetic: bool) -> str:
    return f"{text}  [SYNTHETIC DATA]" if synthetic else text


def plot_equity(named_curves: dict[str, tuple], title: str, synthetic: bool = False) -> None:
    """Equity curves (name -> (dates, equity, starting cash)) and their drawdowns, one above the other."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    for name, (dates, equity, starting_cash) in named_curves.items():
        index = pd.to_datetime([str(d) for d in dates])
        top.plot(index, equity, label=name, linewidth=1.2)
        bottom.plot(index, 100 * drawdown_series(dates, equity, starting_cash).to_numpy(), linewidth=1.0)
    top.set_title(chart_title(title, synthetic))
    top.set_ylabel("Equity ($)")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.set_ylabel("Drawdown (%)")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    plt.show()


def plot_stability_map(values: np.ndarray, grid: dict[str, list], metric: str, plateau: dict | None,
                       baseline_parameters: dict, title: str, synthetic: bool = False) -> None:
    """Heatmap (two sweep parameters) or line (one) of the target metric, with the best cell (x), the
    plateau (white dots), the robust choice (circle) and the baseline parameters (triangle)."""
    names = list(grid)
    fig, ax = plt.subplots(figsize=(9, 6) if len(names) == 2 else (9, 4))
    members = plateau["members"] if plateau else []
    if len(names) == 1:
        xs = list(grid[names[0]])
        ax.plot(xs, values, marker="o", label=metric)
        for cell in members:
            ax.plot(xs[cell[0]], values[cell], "o", color="tab:green", markersize=10, alpha=0.4)
        if plateau:
            ax.plot(xs[plateau["best"][0]], plateau["best_value"], "kx", markersize=12, label="best")
            ax.plot(xs[plateau["robust"][0]], values[plateau["robust"]], "o", markerfacecolor="none",
                    markeredgecolor="red", markersize=16, label="robust (plateau centre)")
            ax.axhline(plateau["threshold"], color="grey", linestyle="--", label="plateau threshold")
        if baseline_parameters.get(names[0]) in xs:
            ax.axvline(baseline_parameters[names[0]], color="tab:orange", linestyle=":", label="baseline")
        ax.set_xlabel(names[0])
        ax.set_ylabel(metric)
        ax.legend()
    else:
        ys, xs = list(grid[names[0]]), list(grid[names[1]])
        image = ax.imshow(values, origin="lower", cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label=metric)
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(names[1])
        ax.set_ylabel(names[0])
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):  # dark text on light cells, light text on dark ones
                red, green, blue, _ = image.cmap(image.norm(value))
                colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                ax.text(column, row - 0.28, f"{value:.2f}", ha="center", va="center", color=colour, fontsize=9)
            else:
                ax.text(column, row - 0.28, "n/a", ha="center", va="center", color="grey", fontsize=9)
        for number, (row, column) in enumerate(members):
            ax.add_patch(plt.Rectangle((column - 0.47, row - 0.47), 0.94, 0.94, fill=False, edgecolor="red",
                                       linestyle="--", linewidth=1.2, label="plateau" if number == 0 else None))
        if plateau:
            ax.plot(plateau["best"][1], plateau["best"][0] + 0.1, "kx", markersize=12, mew=2, label="best")
            ax.plot(plateau["robust"][1], plateau["robust"][0] + 0.1, "o", markerfacecolor="none",
                    markeredgecolor="red", markersize=18, mew=2, label="robust (plateau centre)")
        base = (baseline_parameters.get(names[0]), baseline_parameters.get(names[1]))
        if base[0] in ys and base[1] in xs:
            ax.plot(xs.index(base[1]) + 0.3, ys.index(base[0]) + 0.1, "^", color="orange", markersize=10,
                    markeredgecolor="black", label="baseline")
        ax.legend(loc="upper left", bbox_to_anchor=(1.25, 1.0))
    ax.set_title(chart_title(title, synthetic))
    fig.tight_layout()
    plt.show()


def plot_windows(data: "MarketData", windows: list[tuple[int, int, int, int]], holdout: tuple[int, int] | None,
                 synthetic: bool = False) -> None:
    """The walk-forward plan: in-sample (blue) and out-of-sample (orange) spans, and the holdout (red)."""
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(windows) + 1.5))
    day = lambda i: pd.Timestamp(str(data.dates[i]))  # noqa: E731
    for k, (is_first, is_last, oos_first, oos_last) in enumerate(windows):
        ax.barh(k, day(is_last) - day(is_first), left=day(is_first), color="tab:blue", alpha=0.6)
        ax.barh(k, day(oos_last) - day(oos_first), left=day(oos_first), color="tab:orange")
    if holdout:
        ax.barh(len(windows), day(holdout[1]) - day(holdout[0]), left=day(holdout[0]), color="tab:red")
    ax.set_yticks(range(len(windows) + (1 if holdout else 0)),
                  [f"window {k}" for k in range(len(windows))] + (["holdout"] if holdout else []))
    ax.invert_yaxis()
    ax.set_title(chart_title("Walk-forward plan: in-sample (blue), out-of-sample (orange), holdout (red)",
                             synthetic))
    fig.tight_layout()
    plt.show()
