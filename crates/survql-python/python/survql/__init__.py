"""survql: survival analysis as SQL in DataFusion, with the numbers of R's ``survival``.

    import datafusion, survql
    ctx = datafusion.SessionContext()
    survql.register(ctx)                      # every survql function, one call
    ctx.register_parquet("cohort", "registry/")
    ctx.sql("SELECT grade, km_median(os_months, died) FROM cohort GROUP BY grade").to_pandas()

The functions are the survql shell's (``survql.functions()`` lists them with their syntax),
loaded into datafusion-python through datafusion-ffi. ``survql.warnings()`` returns what
the last queries reported (rows skipped for NULL arguments, Cox fits that did not converge).
``survql.km_plot(df)`` draws the shell's Kaplan-Meier figure; notebooks show it inline.
"""

from __future__ import annotations

from typing import Any

import datafusion as _datafusion

#: The DataFusion major version the functions are built for.
DATAFUSION_MAJOR = 55


def _check_datafusion_version(version: str) -> None:
    """Refuses a datafusion-python of another major version.

    datafusion-ffi has no ABI check of its own: a struct of another major version would be
    read with the wrong layout (undefined behaviour, usually a crash), so survql refuses to
    load instead.
    """
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = -1
    if major != DATAFUSION_MAJOR:
        raise ImportError(
            f"survql needs datafusion {DATAFUSION_MAJOR}.x (its functions are passed to "
            f"DataFusion through datafusion-ffi, whose structures change between major "
            f"versions), but datafusion {version} is installed: "
            f"pip install 'datafusion>={DATAFUSION_MAJOR},<{DATAFUSION_MAJOR + 1}'"
        )


_check_datafusion_version(_datafusion.__version__)

from . import _survql  # noqa: E402  (only once the version is known to match)

__all__ = ["register", "functions", "warnings", "km_plot", "KmPlot", "DATAFUSION_MAJOR"]


def functions() -> list[dict[str, str]]:
    """Every survql function: ``name``, ``syntax`` and ``description``."""
    return [
        {"name": f.name, "syntax": f.syntax, "description": f.description}
        for f in [*_survql.functions(), *_survql.scalar_functions(), *_survql.window_functions()]
    ]


def register(ctx: _datafusion.SessionContext) -> None:
    """Registers every survql function with ``ctx``."""
    for f in _survql.functions():
        ctx.register_udaf(_datafusion.udaf(f))
    # surv(...), the response the Kaplan-Meier and cumulative-incidence functions take.
    for f in _survql.scalar_functions():
        ctx.register_udf(_datafusion.udf(f))
    # cox_residual, cox_predict: one value per row, OVER (...).
    for f in _survql.window_functions():
        ctx.register_udwf(_datafusion.udwf(f))


def warnings() -> list[str]:
    """Takes the warnings recorded since the last call: rows skipped for NULL arguments
    (per aggregate expression, with counts) and Cox fits that did not converge."""
    return list(_survql.drain_warnings())


class KmPlot:
    """A Kaplan-Meier figure: curves per group with censoring marks, optional CI band,
    the log-rank p-value and a number-at-risk table, as the shell's ``\\plot km``.

    Shown inline by Jupyter (SVG); ``save("fig.svg")`` / ``save("fig.png")`` writes it.
    """

    def __init__(self, native: Any) -> None:
        self._native = native

    def svg(self) -> str:
        """The figure as SVG text."""
        return self._native.svg()

    def png(self) -> bytes:
        """The figure as PNG bytes."""
        return bytes(self._native.png())

    def save(self, path: str) -> None:
        """Writes the figure; the format follows the extension (.svg or .png)."""
        self._native.save(str(path))

    def text(self, width: int = 100) -> str:
        """The curves drawn with characters, as in a terminal."""
        return self._native.text(width)

    @property
    def groups(self) -> list[str]:
        """Group labels, in the order drawn (R's factor order)."""
        return list(self._native.groups)

    @property
    def ticks(self) -> list[float]:
        """The x ticks, which are also the times of the number-at-risk table."""
        return list(self._native.ticks)

    @property
    def risk_table(self) -> dict[str, list[int]]:
        """Number at risk of each group at each tick."""
        return dict(zip(self.groups, (list(r) for r in self._native.risk_table)))

    @property
    def p_value(self) -> float | None:
        """The log-rank p-value in the legend (None with one group)."""
        return self._native.p_value

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return self.text()


def _to_arrow(data: Any) -> Any:
    import pyarrow as pa

    if isinstance(data, _datafusion.DataFrame):
        return data.to_arrow_table()
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow_table"):
        return data.to_arrow_table()
    # A pandas DataFrame, or anything pyarrow can read.
    return pa.table(data)


def km_plot(
    data: Any,
    *,
    ci: bool = False,
    title: str | None = None,
    xlab: str | None = None,
    ylab: str | None = None,
    break_every: float | None = None,
    xmax: float | None = None,
    width: int = 900,
    height: int = 640,
) -> KmPlot:
    """Kaplan-Meier curves of ``data``: a datafusion DataFrame (e.g.
    ``ctx.sql("SELECT grade, os_months, died FROM cohort")``), a pyarrow Table or a pandas
    DataFrame whose columns are (group, time, event) or (time, event).

    Options as the shell's ``\\plot km``: ``ci`` (95% band), ``title``, ``xlab``, ``ylab``,
    ``break_every`` (tick and risk-table spacing), ``xmax``, ``width``/``height`` in pixels.
    Group labels are the groups' text (as SQL ``CAST(g AS VARCHAR)``); events are 0/1 or
    booleans.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _to_arrow(data)
    if table.num_columns not in (2, 3):
        raise ValueError(
            "km_plot: the data must have the columns (group, time, event) or (time, event), "
            f"found {table.num_columns}"
        )
    cols = table.columns
    labels = None
    if table.num_columns == 3:
        labels = pc.cast(cols[0], pa.string()).to_pylist()
    times = pc.cast(cols[-2], pa.float64()).to_pylist()
    events = pc.cast(cols[-1], pa.float64()).to_pylist()
    native = _survql.km_plot(
        labels,
        times,
        events,
        ci=ci,
        title=title,
        xlab=xlab,
        ylab=ylab,
        break_every=break_every,
        xmax=xmax,
        width=float(width),
        height=float(height),
    )
    return KmPlot(native)
