"""Cases for the validation metrics (issue 44): Uno's C (concordance_index(..., 'uno' [, tau])),
td_auc and brier_score against scikit-survival's sksurv.metrics, in its two set-ups: the
censoring distribution from the scored rows themselves (survival_train = survival_test), and
from a training set (rows flagged test = false only estimate it).

    /path/to/venv/bin/python tests/oracle/validation.py > tests/data/oracle/validation.json

Needs scikit-survival (pip install scikit-survival; these answers: scikit-survival 0.28.0).

sksurv.metrics.concordance_index_ipcw(train, test, score, tau)[0],
cumulative_dynamic_auc(train, test, score, [t])[0][0], brier_score(train, test, S(t), [t])[1][0],
integrated_brier_score(train, test, S(times), times) (for the documented SQL pattern).
Harrell's C is checked against R's concordance() (tests/oracle/concordance.R).

Data: scikit-survival's WHAS500 and GBSG2 data sets (score: a fixed linear predictor; predicted
survival: an exponential model on it), and seeded samples with tied times and tied scores.
Output: the edge_cases.json layout, entries of kind "validation".
"""

import json
import math

import numpy as np
import sksurv
from sksurv.datasets import load_gbsg2, load_whas500
from sksurv.metrics import (brier_score, concordance_index_ipcw, cumulative_dynamic_auc,
                            integrated_brier_score)
from sksurv.util import Surv


def entries_for(case, time, event, score, surv_at, test, taus, ts):
    """Every metric on (time, event, score), scored rows `test`, training rows ~test (or all
    rows when `test` is None)."""
    out = []
    if test is None:
        train_mask = np.ones(len(time), dtype=bool)
        test_mask = train_mask
        tag = "same"
    else:
        train_mask, test_mask, tag = ~test, test, "split"
    train = Surv.from_arrays(event[train_mask], time[train_mask])
    tst = Surv.from_arrays(event[test_mask], time[test_mask])
    for tau in taus:
        c = concordance_index_ipcw(train, tst, score[test_mask], tau=tau)
        out.append({"id": f"{case}/uno/{tag}/{tau}", "kind": "validation", "source": f"scikit-survival {sksurv.__version__}",
                    "r_call": f"concordance_index_ipcw(train, test, score, tau={tau})",
                    "input": {"function": "concordance_index", "tau": tau, "split": test is not None},
                    "result": {"c_index": float(c[0]), "concordant": int(c[1]), "discordant": int(c[2]),
                               "tied_risk": int(c[3])}})
    for t in ts:
        auc = cumulative_dynamic_auc(train, tst, score[test_mask], [t])[0][0]
        out.append({"id": f"{case}/td_auc/{tag}/{t}", "kind": "validation", "source": f"scikit-survival {sksurv.__version__}",
                    "r_call": f"cumulative_dynamic_auc(train, test, score, [{t}])",
                    "input": {"function": "td_auc", "t": t, "split": test is not None},
                    "result": float(auc)})
        bs = brier_score(train, tst, surv_at[t][test_mask], [t])[1][0]
        out.append({"id": f"{case}/brier/{tag}/{t}", "kind": "validation", "source": f"scikit-survival {sksurv.__version__}",
                    "r_call": f"brier_score(train, test, S({t}), [{t}])",
                    "input": {"function": "brier_score", "t": t, "split": test is not None},
                    "result": float(bs)})
    ibs = integrated_brier_score(train, tst, np.column_stack([surv_at[t][test_mask] for t in ts]), ts)
    out.append({"id": f"{case}/ibs/{tag}", "kind": "validation", "source": f"scikit-survival {sksurv.__version__}",
                "r_call": f"integrated_brier_score(train, test, S(times), {ts})",
                "input": {"function": "integrated_brier_score", "times": ts, "split": test is not None},
                "result": float(ibs)})
    return out


def case_of(name, description, time, event, score, lam, ts, taus, test):
    surv_at = {t: np.exp(-lam * t * np.exp(score)) for t in ts}
    data = {"time": time.tolist(), "event": event.astype(int).tolist(), "score": score.tolist(),
            "test": test.tolist()}
    for t in ts:
        data[f"surv_{str(t).replace('.', '_')}"] = surv_at[t].tolist()
    entries = entries_for(name, time, event, score, surv_at, None, taus, ts)
    entries += entries_for(name, time, event, score, surv_at, test, taus, ts)
    return {"id": name, "description": description, "data": data, "entries": entries}


cases = []
rng = np.random.default_rng(20261208)

x, y = load_whas500()
time = y["lenfol"].astype(float)
event = y["fstat"].astype(bool)
score = np.round(0.045 * x["age"].to_numpy(float) + 0.3 * (x["chf"].astype(str) == "1").to_numpy(float), 6)
test = rng.random(len(time)) < 0.5
test[np.argmax(time)] = False
cases.append(case_of("validation_whas500", "scikit-survival's WHAS500 (days); score 0.045 age + 0.3 chf",
                     time, event, score, 0.00002, [365.0, 730.0, 1500.0], [None, 1000.0], test))

x, y = load_gbsg2()
time = y["time"].astype(float)
event = y["cens"].astype(bool)
score = np.round(0.01 * x["pnodes"].to_numpy(float) * 3 - 0.002 * x["progrec"].to_numpy(float), 6)
test = rng.random(len(time)) < 0.4
test[np.argmax(time)] = False
cases.append(case_of("validation_gbsg2", "scikit-survival's GBSG2 (days); score 0.03 pnodes - 0.002 progrec",
                     time, event, score, 0.0003, [500.0, 1000.0, 1800.0], [None, 1500.0], test))

n = 400
xs = rng.normal(size=n)
t_event = np.round(rng.exponential(10 * np.exp(-0.8 * xs)), 1)
t_cens = np.round(rng.uniform(0, 25, size=n), 1)
time = np.minimum(t_event, t_cens)
event = t_event <= t_cens
score = np.round(xs, 1)  # tied scores
test = rng.random(n) < 0.5
test[np.argmax(time)] = False
cases.append(case_of("validation_random", "seeded: times rounded to 0.1 (ties, events tied with censorings), scores rounded to 0.1 (ties)",
                     time, event, score, 0.08, [2.0, 5.0, 10.0], [None, 8.0], test))

print(json.dumps({"description": f"Uno's C, td_auc, brier_score against scikit-survival {sksurv.__version__}", "cases": cases}))
