"""Cases for Firth's penalised Cox regression (issue 16): the data and firthmodels' answers.

    python3 tests/oracle/firth.py > tests/data/oracle/firth.json

Needs firthmodels (pip install firthmodels; these answers: firthmodels 0.8.2, numpy backend).
R's coxphf is not in Debian; firthmodels implements the same estimator (Heinze & Schemper
2001, Breslow ties, penalty 1/2 log det I). Fitted to full convergence (gtol 1e-9, xtol
1e-12) so that the reference is the optimum itself, not a solver's stopping point:
coef_, bse_ (sqrt(diag I^-1)), pvalues_ (Wald), loglik_ (penalised), conf_int(method="pl")
(profile penalised-likelihood limits of the coefficient; survql reports exp of them), and the
penalised log-likelihood at beta = 0 (the estimator's own _compute_quantities).

Output: the edge_cases.json layout, entries of kind "firth".
"""

import json
import math
import sys

import firthmodels
from importlib.metadata import version
import numpy as np
from firthmodels import FirthCoxPH


def fit_entry(case, data, covariates, conf_level=0.95):
    x = np.column_stack([np.asarray(data[c], dtype=float) for c in covariates])
    event = np.asarray(data["event"], dtype=bool)
    time = np.asarray(data["time"], dtype=float)
    m = FirthCoxPH(backend="numpy", max_iter=500, gtol=1e-9, xtol=1e-12)
    m.fit(x, (event, time))
    ci = m.conf_int(alpha=1 - conf_level, method="pl", max_iter=500, tol=1e-11)
    null = m._compute_quantities(np.zeros(len(covariates))).loglik
    terms = []
    for j, name in enumerate(covariates):
        terms.append({
            "name": name,
            "coef": float(m.coef_[j]),
            "se": float(m.bse_[j]),
            "p": float(m.pvalues_[j]),
            "lower": math.exp(ci[j, 0]) if np.isfinite(ci[j, 0]) else None,
            "upper": math.exp(ci[j, 1]) if np.isfinite(ci[j, 1]) else None,
        })
    return {
        "id": f"{case}/firth/{'_'.join(covariates)}" + ("" if conf_level == 0.95 else f"/{conf_level}"),
        "kind": "firth",
        "source": f"firthmodels {version('firthmodels')}",
        "call": "FirthCoxPH(backend='numpy', max_iter=500, gtol=1e-9, xtol=1e-12).fit(X, (event, time)); "
                "conf_int(alpha, method='pl', tol=1e-11)",
        "input": {"time": "time", "event": "event", "covariates": covariates, "conf_level": conf_level},
        "result": {"n": len(time), "events": int(event.sum()), "converged": bool(m.converged_),
                   "loglik": float(m.loglik_), "loglik_null": float(null), "terms": terms},
    }


def lung_rows(path):
    rows = []
    with open(path) as f:
        head = f.readline().strip().split(",")
        for line in f:
            v = dict(zip(head, line.strip().split(",")))
            if v["ph_ecog"] == "":
                continue
            rows.append(v)
    return {
        "time": [float(r["time"]) for r in rows],
        "event": [int(r["died"]) for r in rows],
        "age": [float(r["age"]) for r in rows],
        "sex": [float(r["sex"]) for r in rows],
        "ecog": [float(r["ph_ecog"]) for r in rows],
    }


def main():
    here = __file__.rsplit("/", 2)[0]
    cases = []
    lung = lung_rows(f"{here}/data/lung.csv")
    cases.append({"id": "firth_lung", "description": "R's lung data (rows with the ECOG score)",
                  "data": lung,
                  "entries": [fit_entry("firth_lung", lung, ["age", "sex", "ecog"]),
                              fit_entry("firth_lung", lung, ["sex"], 0.9)]})
    # Monotone likelihood: every subject with x = 1 fails before anyone with x = 0 (the
    # ordinary Cox estimate of x is infinite); z is an ordinary covariate. Heavy ties.
    sep = {
        "time": [1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11, 12, 12, 13, 14, 15, 16, 18],
        "event": [1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
        "x": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "z": [0.3, -1.2, 0.8, 0.1, -0.5, 1.4, -0.2, 0.6, -1.0, 0.4, 1.1, -0.7, 0.0, 0.9, -0.3,
              0.2, -1.5, 0.5, 1.3, -0.9],
    }
    cases.append({"id": "firth_separated", "description": "separation in x (monotone likelihood), ties",
                  "data": sep,
                  "entries": [fit_entry("firth_separated", sep, ["x"]),
                              fit_entry("firth_separated", sep, ["x", "z"])]})
    json.dump({"dataset": "firth", "description": "Firth-penalised Cox regression (firthmodels)",
               "numpy_version": np.__version__, "generated_by": "tests/oracle/firth.py",
               "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
