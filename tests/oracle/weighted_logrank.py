"""Second half of the weighted log-rank cases (issue 15): lifelines' answers on the data that
tests/oracle/weighted_logrank.R wrote, for every weighting R's survdiff does not have.

    python3 tests/oracle/weighted_logrank.py /tmp/weighted_logrank_r.json \
        > tests/data/oracle/weighted_logrank.json

Needs lifelines (pip install lifelines; these answers: lifelines 0.30.x). Adds, per case
without strata, entries of kind "logrank_weighted" with source "lifelines":
multivariate_logrank_test(time, grp, event, weightings=...) for 'gehan' (lifelines
"wilcoxon"), 'tarone-ware', 'peto' and 'fh(p,q)', plus 'logrank' and 'fh(1,0)' (where both
references must agree). lifelines reports chisq and p with df = groups - 1; R (and survql)
count only groups with expected events > 0, so where those differ the entry carries
"df_differs": the statistic is still compared, the p-value not.
"""

import json
import sys
import warnings

import lifelines
import numpy as np
from lifelines.statistics import multivariate_logrank_test

WEIGHTINGS = [
    ("logrank", None, {}),
    ("gehan", "wilcoxon", {}),
    ("tarone-ware", "tarone-ware", {}),
    ("peto", "peto", {}),
    ("fh(1,0)", "fleming-harrington", {"p": 1, "q": 0}),
    ("fh(0,1)", "fleming-harrington", {"p": 0, "q": 1}),
    ("fh(1,1)", "fleming-harrington", {"p": 1, "q": 1}),
    ("fh(0.5,2)", "fleming-harrington", {"p": 0.5, "q": 2}),
]


def lifelines_entry(case, name, weighting, kwargs):
    data = case["data"]
    time = np.asarray(data["time"], dtype=float)
    event = np.asarray(data["event"], dtype=int)
    grp = np.asarray(data["grp"], dtype=object)
    entry = {
        "id": f"{case['id']}/{name}/lifelines",
        "kind": "logrank_weighted",
        "source": "lifelines",
        "call": f"multivariate_logrank_test(time, grp, event, weightings={weighting!r}"
        + "".join(f", {k}={v}" for k, v in kwargs.items())
        + ")",
        "input": {"time": "time", "event": "event", "group": "grp", "strata": None,
                  "weighting": name},
    }
    groups = sorted(set(grp))
    # Groups with at least one subject at risk at an event time have expected > 0.
    event_times = time[event == 1]
    with_expected = [g for g in groups
                     if event_times.size and (time[grp == g] >= event_times.min()).any()]
    r_df = len(with_expected) - 1
    if len(groups) < 2 or event.sum() == 0:
        entry["error"] = "lifelines needs two groups and an event"
        return entry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multivariate_logrank_test(time, grp, event, weightings=weighting, **kwargs)
    entry["result"] = {
        "chisq": float(res.test_statistic),
        "df": int(res.degrees_of_freedom),
        "p": float(res.p_value),
    }
    if r_df != int(res.degrees_of_freedom):
        entry["df_differs"] = {"lifelines": int(res.degrees_of_freedom), "r": r_df}
    return entry


def main():
    with open(sys.argv[1]) as f:
        out = json.load(f)
    out["lifelines_version"] = lifelines.__version__
    for case in out["cases"]:
        for name, weighting, kwargs in WEIGHTINGS:
            case["entries"].append(lifelines_entry(case, name, weighting, kwargs))
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
