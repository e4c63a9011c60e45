"""Cases for the log-rank design functions (issue 44): logrank_events and logrank_power.

    /path/to/venv/bin/python tests/oracle/design.py > tests/data/oracle/design.json

Needs scipy and lifelines (pip install lifelines; these answers: lifelines 0.30.3).

References, computed independently of survql:
* the closed forms (Schoenfeld 1983; Freedman 1982) with scipy's normal quantiles;
* lifelines' power_under_cph(n_exp, n_con, p_exp, p_con, hr, alpha), Freedman's power with
  events m = n_exp p_exp + n_con p_con and ratio k = n_exp / n_con: asserted equal to the
  closed form (1e-12), and logrank_power's Freedman entries are its values;
* lifelines' sample_size_necessary_under_cph(power, k, p_exp, p_con, hr, alpha), which returns
  subjects rounded up: with every subject an event (p = 1) asserted equal to
  (ceil(D k / (k + 1)), ceil(D / (k + 1))) for Freedman's D;
* the textbook numbers the issue quotes (HR 0.7, alpha 0.05, power 0.8: 246.8 -> 247 events
  Schoenfeld, 252.0 -> 253 Freedman; HR 0.5: 66 and 71), asserted.

Output: the edge_cases.json layout: one case whose data are the inputs (hr, alpha, power,
events, ratio, method), entries "logrank_events" and "logrank_power" with the answers per row.
"""

import json
import math

import lifelines
from lifelines.statistics import power_under_cph, sample_size_necessary_under_cph
from scipy.stats import norm


def effect(hr, ratio, method):
    if method == "schoenfeld":
        return abs(math.log(hr)) / (1 + ratio)
    return abs(1 - hr) / (1 + ratio * hr)


def events(hr, alpha, power, ratio, method):
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return z * z / (ratio * effect(hr, ratio, method) ** 2)


def power_of(hr, d, alpha, ratio, method):
    return norm.cdf(math.sqrt(d * ratio) * effect(hr, ratio, method) - norm.ppf(1 - alpha / 2))


assert round(events(0.7, 0.05, 0.8, 1, "schoenfeld"), 1) == 246.8
assert round(events(0.7, 0.05, 0.8, 1, "freedman"), 1) == 252.0
assert math.ceil(events(0.5, 0.05, 0.8, 1, "schoenfeld")) == 66
assert math.ceil(events(0.5, 0.05, 0.8, 1, "freedman")) == 71

rows = []
for hr in [0.5, 0.7, 0.76, 1.3, 2.0]:
    for alpha, power in [(0.05, 0.8), (0.01, 0.9), (0.1, 0.5)]:
        for ratio in [1.0, 2.0, 0.5]:
            for method in ["schoenfeld", "freedman"]:
                d = events(hr, alpha, power, ratio, method)
                # lifelines (Freedman): subjects when every subject has an event.
                if method == "freedman":
                    n_exp, n_con = sample_size_necessary_under_cph(power, ratio, 1.0, 1.0, hr, alpha)
                    assert (n_exp, n_con) == (math.ceil(d * ratio / (ratio + 1)), math.ceil(d / (ratio + 1))), (hr, alpha, power, ratio)
                given = round(d * 0.8, 3)
                p = power_of(hr, given, alpha, ratio, method)
                if method == "freedman":
                    n_con = given / (1 + ratio)
                    lp = power_under_cph(given - n_con, n_con, 1.0, 1.0, hr, alpha)
                    assert abs(lp - p) <= 1e-12 * p, (lp, p)
                    p = float(lp)
                rows.append({"hr": hr, "alpha": alpha, "power": power, "ratio": ratio,
                             "method": method, "events": given,
                             "want_events": d, "want_power": p})

case = {
    "id": "design_grid",
    "description": "log-rank design inputs: hazard ratios below and above 1, levels, powers, allocation ratios, both methods",
    "data": {k: [r[k] for r in rows] for k in ["hr", "alpha", "power", "ratio", "method", "events"]},
    "entries": [
        {"id": "design_grid/logrank_events", "kind": "logrank_events", "source": "closed forms (scipy); lifelines sample_size_necessary_under_cph",
         "r_call": "", "result": [r["want_events"] for r in rows]},
        {"id": "design_grid/logrank_power", "kind": "logrank_power", "source": "closed forms (scipy); lifelines power_under_cph (Freedman)",
         "r_call": "", "result": [r["want_power"] for r in rows]},
    ],
}
print(json.dumps({"description": f"log-rank design functions (lifelines {lifelines.__version__})", "cases": [case]}, indent=1))
