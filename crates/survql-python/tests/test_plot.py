"""Kaplan-Meier figures from Python: the shell's figure, as SVG and PNG, with the
number-at-risk table of km_survival."""

from __future__ import annotations

import survql


def test_svg_png_and_the_risk_table(ctx, tmp_path):
    plot = survql.km_plot(
        ctx.sql("SELECT grade, os_months, died FROM cohort WHERE grade IS NOT NULL"),
        ci=True,
        title="Overall survival by grade",
        break_every=12,
    )
    svg = plot._repr_svg_()
    assert svg.startswith("<svg") and "Number at risk" in svg
    assert plot.png().startswith(b"\x89PNG\r\n\x1a\n")
    for name in ("fig.svg", "fig.png"):
        plot.save(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000
    assert plot.groups == ["1", "2", "3", "large", "small"]
    assert plot.ticks[:3] == [0, 12, 24]
    for grade, counts in plot.risk_table.items():
        for tick, n in zip(plot.ticks, counts):
            row = ctx.sql(
                f"SELECT km_survival(os_months, died, {tick})['n_risk'] AS n FROM cohort WHERE grade = '{grade}'"
            ).to_pylist()[0]
            assert row["n"] == n, (grade, tick)
    p = ctx.sql("SELECT logrank_p(os_months, died, grade) AS p FROM cohort WHERE grade IS NOT NULL").to_pylist()[0]["p"]
    assert plot.p_value == p
    assert "Log-rank p < 0.001" in plot.text()


def test_from_pandas_with_booleans_and_non_ascii_labels(ctx):
    frame = ctx.sql(
        "SELECT CASE WHEN age >= 70 THEN 'Patienten ≥ 70 Jahre' ELSE 'jünger' END AS g, os_months, died = 1 AS e FROM cohort"
    ).to_pandas()
    plot = survql.km_plot(frame)
    assert plot.groups == ["Patienten ≥ 70 Jahre", "jünger"]
    assert "jünger" in plot.svg()


def test_bad_plot_options_are_errors(ctx):
    import pytest

    df = ctx.sql("SELECT grade, os_months, died FROM cohort")
    with pytest.raises(ValueError, match="--break 0.000001 gives"):
        survql.km_plot(df, break_every=1e-6)
    with pytest.raises(ValueError, match="--width must be a whole number of pixels"):
        survql.km_plot(df, width=10)
    with pytest.raises(ValueError, match="event column must be 0/1"):
        survql.km_plot(ctx.sql("SELECT grade, os_months, died + 1 FROM cohort"))
