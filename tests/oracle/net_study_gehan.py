"""lifelines' Gehan-Breslow (generalised Wilcoxon) p-values for Table 2 of sql/net_study.sql
on the demo cohort (tests/data/net_cohort.csv), the reference of the script's gehan_p column.

    python3 tests/oracle/net_study_gehan.py > tests/data/oracle/net_study_gehan.json

Needs pandas and lifelines (0.30.x). Derived variables and row filters as in the script: rows
with a NULL level are left out of each test, as the SQL function skips them.
"""

import json
import sys
from pathlib import Path

import lifelines
import pandas as pd
from lifelines.statistics import multivariate_logrank_test

data = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "net_cohort.csv",
                   dtype={"grade": "string"})
data["age_group"] = data["age"].map(lambda a: "<60" if a < 60 else ">=60")
data["liver"] = data["liver_mets"].map(lambda v: "present" if v else "absent")
data["grade_group"] = data["grade"].map(
    lambda g: None if pd.isna(g) else ("1" if g == "1" else ("2-3" if g in ("2", "3") else g)))
data["treatment_tested"] = data["treatment"].where(data["treatment"] != "supportive")

characteristics = {
    "Age": "age_group",
    "Sex": "sex",
    "Origin": "origin",
    "Liver metastasis": "liver",
    "Grade": "grade",
    "Grade group": "grade_group",
    "Treatment modality": "treatment_tested",
}
out = {"generated_by": "tests/oracle/net_study_gehan.py",
       "lifelines_version": lifelines.__version__,
       "call": "multivariate_logrank_test(os_months, level, died, weightings='wilcoxon')",
       "gehan_p": {}}
for name, column in characteristics.items():
    d = data[data[column].notna()]
    res = multivariate_logrank_test(d["os_months"], d[column].astype(str), d["died"],
                                    weightings="wilcoxon")
    out["gehan_p"][name] = {"chisq": float(res.test_statistic),
                            "df": int(res.degrees_of_freedom), "p": float(res.p_value)}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
