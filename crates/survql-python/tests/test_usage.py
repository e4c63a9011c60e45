"""Using survql from Python: registration, inputs (pandas, pyarrow, Parquet), warnings,
errors that leave the interpreter working, and the datafusion version check."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import datafusion
import pandas as pd
import pyarrow as pa
import pytest

import survql
from conftest import DATA

NAMES = {
    "km_median", "km_summary", "km_quantile", "km_survival", "km_curve", "km_rmst",
    "km_followup", "rmst_diff", "km_survival_diff", "nelson_aalen", "logrank_test", "logrank_p", "logrank_strat_test",
    "logrank_weighted_test", "logrank_weighted_strat_test", "logrank_pairwise",
    "logrank_trend_test", "logrank_trend_strat_test", "cif_curve", "cif_at", "gray_test",
    "prop_ci", "chisq_test", "fisher_test", "cox_ph", "cox_ph_strat", "cox_ph_counting",
    "cox_zph", "finegray_ph", "survreg", "survreg_strat", "cox_curve", "cox_curve_strat", "cox_adjusted_curve", "surv", "cluster", "strata",
    "surv_split", "cox_residual", "cox_predict", "logrank_events", "logrank_power", "concordance_index", "td_auc", "brier_score", "life_table", "calibration",
}


def test_functions_are_listed_with_their_syntax():
    fs = survql.functions()
    assert {f["name"] for f in fs} == NAMES
    km = next(f for f in fs if f["name"] == "km_median")
    assert km["syntax"].startswith("km_median(") and "Kaplan-Meier" in km["description"]


def test_the_readme_example_from_parquet_pandas_and_arrow():
    ctx = datafusion.SessionContext()
    survql.register(ctx)
    ctx.register_parquet("cohort", str(DATA / "net_cohort.parquet"))
    sql = "SELECT grade, km_median(os_months, died) AS m FROM {t} GROUP BY grade ORDER BY grade"
    want = ctx.sql(sql.format(t="cohort")).to_pandas()
    frame = ctx.table("cohort").to_pandas()
    ctx.from_pandas(frame, name="from_pandas")
    ctx.from_arrow(pa.Table.from_pandas(frame), name="from_arrow")
    for t in ("from_pandas", "from_arrow"):
        pd.testing.assert_frame_equal(ctx.sql(sql.format(t=t)).to_pandas(), want)
    assert want["m"].tolist()[0] == 78.5  # grade 1, as R


def test_warnings_report_skipped_rows(ctx):
    ctx.sql("SELECT km_median(os_months, CASE WHEN age > 70 THEN NULL ELSE died END) FROM cohort").collect()
    w = survql.warnings()
    assert len(w) == 1 and "skipped" in w[0] and "row(s) with a NULL argument" in w[0], w
    assert survql.warnings() == []


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SELECT km_median(os_months, died + 1) FROM cohort", "km_median: argument 'event' must be 0/1 or boolean, found 2"),
        ("SELECT km_median(CASE WHEN age > 70 THEN 'NaN'::double ELSE os_months END, died) FROM cohort", "km_median: argument 'time' must be a finite number, found NaN"),
        ("SELECT km_summary(os_months, died, 'log_log') FROM cohort", "km_summary: argument 'conf_type' must be one of"),
        ("SELECT cox_ph(os_months, died, age, 'ties=exactly') FROM cohort", "cox_ph: option 'ties' must be efron, breslow or exact"),
        ("SELECT km_median(os_months) FROM cohort", "km_median: expected 2 to 3 argument(s), found 1"),
        ("SELECT km_survival(os_months, died, age) FROM cohort", "km_survival: argument 'at' must be a constant"),
    ],
)
def test_bad_input_raises_and_the_interpreter_goes_on(ctx, sql, message):
    with pytest.raises(Exception) as err:
        ctx.sql(sql).collect()
    assert message in str(err.value)
    # The process is alive and the functions still work.
    assert ctx.sql("SELECT km_median(os_months, died) AS m FROM cohort").to_pylist() == [{"m": 26.9}]


def test_constant_arguments_cross_the_ffi_boundary(ctx):
    """Constants arrive as foreign expressions, not literals: every option still works."""
    r = ctx.sql(
        "SELECT km_survival(os_months, died, 36)['surv'] AS s, km_quantile(os_months, died, 0.5, 'plain', 0.9)['quantile'] AS q, "
        "km_rmst(os_months, died, 24 + 36)['tau'] AS tau, cox_ph(os_months, died, age, 'ties=breslow')['ties'] AS ties FROM cohort"
    ).to_pylist()[0]
    assert r["tau"] == 60 and r["ties"] == "breslow" and r["q"] == 26.9 and 0 < r["s"] < 1


def test_a_mismatched_datafusion_major_version_is_refused(tmp_path):
    fake = tmp_path / "datafusion"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = '56.0.0'\n")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        try:
            import survql
        except ImportError as e:
            print("refused:", e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "refused: survql needs datafusion 55.x" in out.stdout, out.stdout + out.stderr
    assert "datafusion 56.0.0 is installed" in out.stdout


def test_delayed_entry_with_surv_and_named_struct(ctx):
    """surv(entry, time, event) crosses the FFI boundary as the response argument (R:
    survfit(Surv(start, stop, event) ~ 1, data = heart): median 100 (72, 263), 172 records),
    and so does a plain struct with the same field names."""
    r = ctx.sql(
        "SELECT km_summary(surv(start, stop, event)) AS s, "
        "km_median(named_struct('entry', start, 'time', stop, 'event', event)) AS m FROM heart"
    ).to_pylist()[0]
    assert (r["s"]["n"], r["s"]["median"], r["s"]["lower"], r["s"]["upper"]) == (172, 100, 72, 263)
    assert r["m"] == 100


def test_case_weights_cross_the_ffi_boundary(ctx):
    """surv(NULL, time, status, weight): a constant weight leaves the cumulative incidence as it
    is (and weight 2 is each row twice), a NULL weight skips the row."""
    r = ctx.sql(
        "SELECT cif_at(surv(NULL, stop, event, 2), 1, 100) AS w, cif_at(stop, event, 1, 100) AS u, "
        "cif_curve(surv(NULL, stop, event, CASE WHEN transplant = 1 THEN 1.5 END), 1)[1]['n_risk'] AS n "
        "FROM heart"
    ).to_pylist()[0]
    assert r["w"]["cif"] == pytest.approx(r["u"]["cif"], rel=1e-12)
    assert r["n"] == ctx.sql("SELECT count(*) AS n FROM heart WHERE transplant = 1").to_pylist()[0]["n"]


def test_weighted_kaplan_meier_crosses_the_ffi_boundary(ctx):
    """Whole-number weights are frequencies (R's survfit(weights =)): weight 2 doubles the
    weighted counts (DOUBLE in a weighted call) and leaves S and its median unchanged."""
    r = ctx.sql(
        "SELECT km_summary(surv(NULL, stop, event, 2)) AS w, km_summary(stop, event) AS u, "
        "km_curve(surv(NULL, stop, event, 2))[1] AS c FROM heart"
    ).to_pylist()[0]
    assert r["w"]["events"] == 2 * r["u"]["events"]
    assert isinstance(r["w"]["events"], float)
    assert (r["w"]["n"], r["w"]["median"]) == (r["u"]["n"], r["u"]["median"])
    assert r["c"]["n_risk"] == 2 * 172



def test_models_of_the_second_release_cross_the_ffi_boundary(ctx):
    """survreg, cox_ph with cluster(...) and firth=true, finegray_ph: the same numbers through
    datafusion-python as in the shell (checked against R and firthmodels in the Rust suite)."""
    r = ctx.sql(
        "SELECT survreg(os_months, died, age) AS s, "
        "cox_ph(os_months, died, age, cluster(grade)) AS c, "
        "cox_ph(os_months, died, age, 'firth=true') AS f, "
        "finegray_ph(ttp_months, CASE WHEN progressed = 1 THEN 1 WHEN died = 1 THEN 2 ELSE 0 END, 1, age) AS g "
        "FROM cohort"
    ).to_pylist()[0]
    # R: survreg(Surv(os_months, died) ~ age, net_cohort): scale 1.114883, age -0.03162968
    assert r["s"]["scale"] == pytest.approx(1.11488279956, rel=1e-6)
    assert r["s"]["terms"][1]["coef"] == pytest.approx(-0.03162968419, rel=1e-6)
    assert r["c"]["terms"][0]["robust_se"] is not None
    assert r["f"]["ties"] == "breslow (firth)"
    assert r["g"]["ties"] == "breslow" and r["g"]["terms"][0]["se"] > 0


def test_vendor_conventions_per_call(ctx):
    """SAS's, Stata's and SPSS's rules through the per-call arguments (the session setting
    needs survql's own context); SAS's log-log limits are R's conf.type = "log-log"."""
    r = ctx.sql(
        "SELECT km_summary(os_months, died, 'sas') AS s, km_median(os_months, died, 'spss') AS m, "
        "cox_ph(os_months, died, age, 'convention=stata') AS c FROM cohort"
    ).to_pylist()[0]
    # R: survfit(Surv(os_months, died) ~ 1, conf.type = "log-log"): 26.9 (20.6, 37.1).
    assert (r["s"]["median"], r["s"]["lower"], r["s"]["upper"]) == (26.9, 20.6, 37.1)
    assert r["m"] == 26.9
    # R: coxph(Surv(os_months, died) ~ age, ties = "breslow").
    assert r["c"]["ties"] == "breslow"
    assert r["c"]["terms"][0]["coef"] == pytest.approx(0.02606554268, rel=1e-6)


def test_predicted_cox_curves_cross_the_ffi_boundary(ctx):
    """cox_curve's profile is in its options string, which crosses datafusion-ffi as a
    column, not a literal: the curve must still be R's."""
    rows = ctx.sql(
        "SELECT c['time'] AS t, c['surv'] AS s, c['lower'] AS lo FROM (SELECT unnest("
        "cox_curve(os_months, died, age, grade, 'age=60, grade=3')) AS c FROM cohort)"
    ).to_pylist()
    at = next(r for r in rows if r["t"] == 24.7)
    # R: survfit(coxph(Surv(os_months, died) ~ age + grade), newdata = data.frame(age = 60,
    # grade = "3")) at 24.7 months.
    assert at["s"] == pytest.approx(0.2952968435, rel=1e-6)
    assert at["lo"] == pytest.approx(0.1423736901, rel=1e-6)
    assert len(rows) == 66
