"""The survql functions through datafusion-python give the Rust results bit for bit (the
survql CLI on the same files), and R's numbers, for every family: Kaplan-Meier, log-rank,
Cox, contingency tests and proportions; with GROUP BY, FILTER and 4 partitions."""

from __future__ import annotations

import math

import pytest

from conftest import cli_rows, golden, session

QUERIES = {
    "km by group": """
        SELECT grade, km_median(os_months, died) AS median, km_summary(os_months, died) AS s,
               km_survival(os_months, died, 36) AS s36, km_quantile(os_months, died, 0.25, 'log-log') AS q25,
               km_rmst(os_months, died, 60) AS rmst, km_followup(os_months, died) AS fu
        FROM cohort GROUP BY grade ORDER BY grade""",
    "km filter": """
        SELECT km_summary(os_months, died, 'plain', 0.9) FILTER (WHERE sex = 'F') AS f,
               km_summary(os_months, died) FILTER (WHERE sex = 'M') AS m FROM cohort""",
    "km curves": "SELECT km_curve(time, died, 'log-log') AS c, nelson_aalen(time, died) AS na FROM lung",
    "logrank": """
        SELECT logrank_test(os_months, died, grade) AS t, logrank_p(os_months, died, liver_mets) AS p,
               logrank_test(os_months, died, liver_mets, 1) AS peto,
               logrank_strat_test(os_months, died, liver_mets, treatment) AS strat
        FROM cohort""",
    "weighted logrank and pairs": """
        SELECT logrank_weighted_test(os_months, died, grade, 'gehan') AS gehan,
               logrank_weighted_test(os_months, died, grade, 'fh(0,1)') AS fh,
               logrank_weighted_strat_test(os_months, died, liver_mets, treatment, 'peto') AS strat,
               logrank_pairwise(os_months, died, grade, 'BH') AS pairs
        FROM cohort""",
    "contrasts": """
        SELECT rmst_diff(os_months, died, liver_mets, 60) AS rmst,
               km_survival_diff(os_months, died, grade, 12, 0.9) AS s12,
               sex, rmst_diff(os_months, died, liver_mets, 36) AS rmst_by_sex
        FROM cohort GROUP BY sex ORDER BY sex""",
    "design": """
        SELECT logrank_events(0.7, 0.05, 0.8) AS schoenfeld, logrank_power(h, 200, 0.05, 2, 'freedman') AS power
        FROM (VALUES (0.6), (0.75)) AS t(h) ORDER BY h""",
    "validation": """
        SELECT sex, concordance_index(os_months, died, age) AS harrell, concordance_index(os_months, died, age, 'uno', 48) AS uno,
               td_auc(os_months, died, age, 12) AS auc, brier_score(os_months, died, 0.5, 12) AS brier,
               life_table(os_months, died, [0, 12, 24, 48]) AS lt,
               calibration(os_months, died, 1 - exp(-12 * exp(-4.5 + 0.02 * age)), 12, 3) AS cal
        FROM cohort GROUP BY sex ORDER BY sex""",
    "adjusted curves": """
        SELECT sex, cox_adjusted_curve(os_months, died, grade, age, liver_mets, 'times=12 24 60, conf_type=log-log') AS adj,
               cox_adjusted_curve(os_months, died, liver_mets, age) AS every_time
        FROM cohort GROUP BY sex ORDER BY sex""",
    "cox window functions": """
        SELECT time, age, sex, cox_residual(time, died, age, sex) OVER () AS m,
               cox_residual(time, died, age, sex, 'type=dfbeta, term=age') OVER (PARTITION BY ph_ecog) AS dfb,
               cox_predict(time, died, age, sex, 'type=survival') OVER () AS s,
               cox_predict(time, died, age, strata(sex)) OVER () AS lp_strat
        FROM lung ORDER BY time, age, sex, m, dfb, s, lp_strat""",
    "logrank by group": """
        SELECT sex, logrank_p(os_months, died, liver_mets) AS p FROM cohort GROUP BY sex ORDER BY sex""",
    "cox": """
        SELECT cox_ph(os_months, died, age, sex, liver_mets) AS efron,
               cox_ph(os_months, died, age, sex, liver_mets, 'ties=breslow, robust=true') AS breslow,
               cox_ph_strat(os_months, died, treatment, age, liver_mets) AS strat,
               cox_zph(os_months, died, age, sex, liver_mets) AS zph
        FROM cohort""",
    "cox counting": "SELECT cox_ph_counting(start, stop, event, age, surgery) AS c FROM heart",
    "cox by group": "SELECT ph_ecog, cox_ph(time, died, age, sex) AS c FROM lung WHERE ph_ecog < 3 GROUP BY ph_ecog ORDER BY ph_ecog",
    "tables": """
        SELECT chisq_test(sex, liver_mets) AS chi, chisq_test(sex, liver_mets, false) AS chi_raw,
               fisher_test(sex, liver_mets) AS fisher, prop_ci(died = 1) AS exact,
               prop_ci(died = 1, 'wilson', 0.9) AS wilson
        FROM cohort""",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_identical_to_the_rust_cli(ctx, name):
    sql = QUERIES[name]
    got = ctx.sql(sql).to_pylist()
    want = cli_rows(sql)
    assert got == want


@pytest.mark.parametrize("partitions", [1, 3])
def test_identical_whatever_the_partitioning(partitions):
    sql = QUERIES["km by group"]
    assert session(partitions, 7).sql(sql).to_pylist() == cli_rows(sql)


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return a == b or abs(a - b) <= tol * max(abs(a), abs(b))


def test_r_kaplan_meier_log_rank_cox_tables(ctx):
    g = golden("net_cohort")
    # survfit(Surv(os_months, died) ~ grade): median and its log CI per grade.
    rows = {r["grade"]: r["s"] for r in ctx.sql(QUERIES["km by group"]).to_pylist()}
    for grp in g["net_cohort/km/os/by_grade"]["result"]["groups"]:
        s = rows[grp["group"]]
        assert s["n"] == grp["n"] and s["events"] == grp["events"]
        assert close(s["median"], grp["median"]["estimate"], 1e-9)
        assert close(s["lower"], grp["median"]["ci"]["log"]["lower"], 1e-9)
        assert close(s["upper"], grp["median"]["ci"]["log"]["upper"], 1e-9)
    # survdiff(Surv(os_months, died) ~ grade)
    t = ctx.sql("SELECT logrank_test(os_months, died, grade) AS t FROM cohort").to_pylist()[0]["t"]
    want = g["net_cohort/logrank/os/by_grade"]["result"]
    assert close(t["chisq"], want["chisq"], 1e-9) and t["df"] == want["df"]
    assert close(t["p_value"], want["p"], 1e-9)
    # coxph(Surv(os_months, died) ~ age + sex + liver_mets)
    c = ctx.sql("SELECT cox_ph(os_months, died, age, sex, liver_mets) AS c FROM cohort").to_pylist()[0]["c"]
    want = g["net_cohort/cox/os/age_sex_liver_mets/efron"]["result"]
    assert close(c["loglik"], want["loglik"], 1e-6)
    for term, w in zip(c["terms"], want["terms"]):
        assert term["term"] == w["name"]
        assert close(term["coef"], w["coef"], 1e-6) and close(term["se"], w["se"], 1e-6)
    # chisq.test(table(sex, liver_mets), correct = FALSE) and fisher.test
    r = ctx.sql("SELECT chisq_test(sex, liver_mets, false) AS c, fisher_test(sex, liver_mets) AS f FROM cohort").to_pylist()[0]
    want = g["net_cohort/chisq/sex_vs_liver_mets/correct_false"]["result"]
    assert close(r["c"]["statistic"], want["statistic"], 1e-9) and close(r["c"]["p_value"], want["p"], 1e-9)
    want = g["net_cohort/fisher/sex_vs_liver_mets"]["result"]
    assert close(r["f"]["p_value"], want["p"], 1e-9)
    assert close(r["f"]["odds_ratio"], want["odds_ratio_tight"], 1e-9)
    assert not math.isnan(r["f"]["lower"])


def test_r_proportions_rmst_and_cox_zph(ctx):
    g = golden("net_cohort")
    # binom.test / prop.test on the objective response of systemic patients.
    want = g["net_cohort/prop_ci/orr"]["result"]
    r = ctx.sql(
        "SELECT prop_ci(best_response IN ('CR', 'PR')) AS exact, "
        "prop_ci(best_response IN ('CR', 'PR'), 'wilson') AS wilson, "
        "prop_ci(best_response IN ('CR', 'PR'), 'wilson-cc') AS cc, "
        "prop_ci(best_response IN ('CR', 'PR'), 'wald') AS wald FROM cohort "
        "WHERE treatment IN ('systemic', 'both') AND best_response IS NOT NULL"
    ).to_pylist()[0]
    for key, ref in [("exact", "clopper_pearson"), ("wilson", "wilson"), ("cc", "wilson_cc"), ("wald", "wald")]:
        assert r[key]["n"] == want["n"] and r[key]["x"] == want["x"]
        assert close(r[key]["estimate"], want["estimate"], 1e-9)
        assert close(r[key]["lower"], want[ref]["lower"], 1e-9), key
        assert close(r[key]["upper"], want[ref]["upper"], 1e-9), key
    # summary(survfit(...), rmean = 60) by grade, through GROUP BY.
    rows = {
        x["grade"]: x["r"]
        for x in ctx.sql("SELECT grade, km_rmst(os_months, died, 60) AS r FROM cohort GROUP BY grade").to_pylist()
    }
    for grp in g["net_cohort/rmst/os/by_grade/tau_60"]["result"]["groups"]:
        assert close(rows[grp["group"]]["rmst"], grp["rmean"], 1e-9)
        assert close(rows[grp["group"]]["std_err"], grp["se_rmean"], 1e-9)
    # cox.zph(coxph(Surv(os_months, died) ~ age + sex + liver_mets), transform = "km")
    z = ctx.sql("SELECT cox_zph(os_months, died, age, sex, liver_mets) AS z FROM cohort").to_pylist()[0]["z"]
    want = g["net_cohort/cox_zph/os/age_sex_liver_mets/km"]["result"]
    assert close(z["global_chisq"], want["global"]["chisq"], 1e-6)
    for term, w in zip(z["terms"], want["terms"]):
        assert term["term"] == w["name"] and close(term["chisq"], w["chisq"], 1e-6)
