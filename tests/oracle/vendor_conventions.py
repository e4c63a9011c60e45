"""Published SAS and Stata outputs, with their data, for the conventions of issue 19.

    python3 tests/oracle/vendor_conventions.py CAMIS_CHECKOUT > tests/data/oracle/vendor_conventions.json

Every number below is transcribed from a published output (the source of each is in its
entry), at the precision it was printed; nothing here is computed by us. The data:

* whas500: the Worcester Heart Attack Study (Hosmer, Lemeshow & May, Applied Survival Analysis,
  2nd ed.), as the PHUSE CAMIS project ships it (github.com/PSIAIMS/CAMIS, data/whas500.sas7bdat,
  commit 74a06c12b0bd8cd0c74079725344014f2fbd5b90), read with pandas.read_sas. CAMIS's SAS
  program analyses lenfoly = round(lenfol / 365.25, 0.01) (years) with PROC LIFETEST and lenfol
  (days) with PROC PHREG; their outputs are the images images/survival/sas_km_afib0.png,
  sas_km_afib1.png, sas_cox.png, sas_logrank.png and the table r_sas_default.png (the landmark
  limits, 3 decimals).
* camis_flat / camis_flat_event: the ten-subject data of CAMIS's "R vs SAS - Kaplan Meier"
  page (Comp/r-sas_survival.qmd), whose SAS column is images/survival/r_sas_special.png and
  r_sas_special_lst.png.
* gehan_control: the control arm of Freireich's leukemia trial (the Gehan data); Stata's
  `sts list, by(group)` on it, as printed by G. Rodriguez (data.princeton.edu/eco572/KaplanMeier.html).
* statalist_2002: the 12-subject data of "st: -stsum- vs -stci-" (Statalist, 2002-11, msg00284):
  stci gives a median of 2 for group 2.
"""

import json
import sys

import pandas as pd

camis = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/PSIAIMS+CAMIS/checkout"

w = pd.read_sas(f"{camis}/data/whas500.sas7bdat", format="sas7bdat")
whas = {
    "id": [int(v) for v in w.ID],
    "lenfol": [int(v) for v in w.LENFOL],
    # SAS's round(x, 0.01); no value of lenfol / 365.25 sits on a rounding tie.
    "lenfoly": [round(v / 365.25, 2) for v in w.LENFOL],
    "fstat": [int(v) for v in w.FSTAT],
    "afb": [int(v) for v in w.AFB],
}

CAMIS_KM = "PHUSE CAMIS, SAS/survival.qmd: proc lifetest data=dat outsurv=_SurvEst timelist=1 3 5 reduceout stderr; time lenfoly*fstat(0); strata afb; (SAS 9.4 defaults: CONFTYPE=LOGLOG)"


def quartile(p, estimate, lower, upper, decimals):
    return {"p": p, "estimate": estimate, "lower": lower, "upper": upper, "decimals": decimals}


def landmark(at, surv, std_err, lower, upper, decimals, limit_decimals):
    return {"at": at, "surv": surv, "std_err": std_err, "lower": lower, "upper": upper,
            "decimals": decimals, "limit_decimals": limit_decimals}


cases = [
    {
        "id": "whas500",
        "description": "Worcester Heart Attack Study, 500 patients (CAMIS data/whas500.sas7bdat)",
        "data": whas,
        "entries": [
            {
                "id": "whas500/sas/lifetest/afb=0", "kind": "vendor_km", "convention": "sas",
                "source": CAMIS_KM + "; images/survival/sas_km_afib0.png, r_sas_default.png",
                "input": {"time": "lenfoly", "event": "fstat", "filter": "afb = 0"},
                "result": {
                    "quartiles": [quartile(0.75, 6.44, 6.44, None, 2), quartile(0.5, 5.91, 4.31, None, 2),
                                  quartile(0.25, 0.94, 0.51, 1.45, 2)],
                    "landmarks": [landmark(1, 0.7393, 0.0214, 0.695, 0.779, 4, 3),
                                  landmark(3, 0.6416, 0.0245, 0.591, 0.687, 4, 3),
                                  landmark(5, 0.5299, 0.0311, 0.467, 0.589, 4, 3)],
                },
            },
            {
                "id": "whas500/sas/lifetest/afb=1", "kind": "vendor_km", "convention": "sas",
                "source": CAMIS_KM + "; images/survival/sas_km_afib1.png, r_sas_default.png",
                "input": {"time": "lenfoly", "event": "fstat", "filter": "afb = 1"},
                "result": {
                    "quartiles": [quartile(0.75, 6.43, 4.24, None, 2), quartile(0.5, 2.37, 1.15, 3.77, 2),
                                  quartile(0.25, 0.26, 0.05, 0.90, 2)],
                    "landmarks": [landmark(1, 0.6410, 0.0543, 0.524, 0.736, 4, 3),
                                  landmark(3, 0.4548, 0.0599, 0.335, 0.567, 4, 3),
                                  landmark(5, 0.3149, 0.0643, 0.195, 0.442, 4, 3)],
                },
            },
            {
                "id": "whas500/sas/lifetest/logrank", "kind": "vendor_logrank", "convention": "sas",
                "source": CAMIS_KM + "; images/survival/sas_logrank.png (Test of Equality over Strata)",
                "input": {"time": "lenfoly", "event": "fstat", "group": "afb"},
                "result": {"chisq": 10.8943, "df": 1, "p": 0.0010, "decimals": 4},
            },
            {
                "id": "whas500/sas/phreg/afb", "kind": "vendor_cox", "convention": "sas",
                "source": "PHUSE CAMIS, SAS/survival.qmd: proc phreg data=dat; class afb; model lenfol*fstat(0) = afb/rl; (TIES=BRESLOW, the default; reference level afb=1); images/survival/sas_cox.png",
                "input": {"time": "lenfol", "event": "fstat", "covariate": "afb = 0"},
                "result": {"coef": -0.53899, "coef_decimals": 5, "se": 0.16544, "se_decimals": 5,
                           "wald_chisq": 10.6143, "wald_decimals": 4, "p": 0.0011, "p_decimals": 4,
                           "hr": 0.583, "lower": 0.422, "upper": 0.807, "hr_decimals": 3},
            },
        ],
    },
    {
        "id": "camis_flat",
        "description": "CAMIS R vs SAS: five events, then five censored; S stays at 0.5 from 87 to the last time",
        "data": {"time": [54, 75, 77, 84, 87, 92, 103, 105, 112, 118],
                 "status": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]},
        "entries": [{
            "id": "camis_flat/sas", "kind": "vendor_km", "convention": "sas",
            "source": "PHUSE CAMIS, Comp/r-sas_survival.qmd, SAS column of images/survival/r_sas_special.png",
            "input": {"time": "time", "event": "status", "filter": None},
            "result": {
                "quartiles": [quartile(0.25, 77, 54, None, 0), quartile(0.5, None, 54, None, 1),
                              quartile(0.75, None, 87, None, 0)],
                "landmarks": [landmark(80, 0.7, None, 0.329, 0.892, 1, 3),
                              landmark(100, 0.5, None, 0.184, 0.753, 1, 3),
                              landmark(120, None, None, None, None, 1, 3)],
            },
        }],
    },
    {
        "id": "camis_flat_event",
        "description": "CAMIS R vs SAS: as camis_flat, the last time (118) an event",
        "data": {"time": [54, 75, 77, 84, 87, 92, 103, 105, 112, 118],
                 "status": [1, 1, 1, 1, 1, 0, 0, 0, 0, 1]},
        "entries": [{
            "id": "camis_flat_event/sas", "kind": "vendor_km", "convention": "sas",
            "source": "PHUSE CAMIS, Comp/r-sas_survival.qmd, SAS column of images/survival/r_sas_special_lst.png",
            "input": {"time": "time", "event": "status", "filter": None},
            "result": {
                "quartiles": [quartile(0.25, 77, 54, None, 0), quartile(0.5, 102.5, 54, None, 1),
                              quartile(0.75, 118, 87, None, 0)],
                "landmarks": [landmark(80, 0.7, None, 0.329, 0.892, 1, 3),
                              landmark(100, 0.5, None, 0.184, 0.753, 1, 3),
                              landmark(120, 0.0, None, None, None, 1, 3)],
            },
        }],
    },
    {
        "id": "gehan_control",
        "description": "Gehan (Freireich) leukemia data, control arm: 21 patients, all relapsed",
        "data": {"weeks": [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23],
                 "relapse": [1] * 21},
        "entries": [{
            "id": "gehan_control/stata/sts_list", "kind": "vendor_km", "convention": "stata",
            "source": "Stata sts list, by(group) on the Gehan data, G. Rodriguez, data.princeton.edu/eco572/KaplanMeier.html (Survivor Function, Std. Error, [95% Conf. Int.])",
            "input": {"time": "weeks", "event": "relapse", "filter": None},
            "result": {
                "quartiles": [],
                "landmarks": [landmark(1, 0.9048, 0.0641, 0.6700, 0.9753, 4, 4),
                              landmark(2, 0.8095, 0.0857, 0.5689, 0.9239, 4, 4)],
            },
        }],
    },
    {
        "id": "statalist_2002",
        "description": "Statalist 2002-11 'st: -stsum- vs -stci-', group 2: times 1, 2, 2, 4, 6, 8, all failures",
        "data": {"t": [1, 2, 2, 4, 6, 8], "fail": [1, 1, 1, 1, 1, 1]},
        "entries": [{
            "id": "statalist_2002/stata/stci", "kind": "vendor_km", "convention": "stata",
            "source": "www.stata.com/statalist/archive/2002-11/msg00284.html: stci, by(group) median gives 2 for group 2 (S = 0.5 on [2, 4); R's midpoint rule gives 3)",
            "input": {"time": "t", "event": "fail", "filter": None},
            "result": {"quartiles": [{"p": 0.5, "estimate": 2, "decimals": 0}], "landmarks": []},
        }],
    },
]

out = {
    "dataset": "vendor_conventions",
    "description": "Published SAS and Stata outputs with their data (survql.convention, issue 19)",
    "generated_by": "tests/oracle/vendor_conventions.py",
    "cases": cases,
}
json.dump(out, sys.stdout, indent=1)
print()
