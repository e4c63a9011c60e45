"""Table 2 of the NET cohort study (overall survival by characteristic: median OS with its
95% CI, 3-year survival, log-rank p) from a pandas DataFrame, with the very SQL of
sql/net_study.sql.

    pip install ./crates/survql-python pandas
    python examples/python/net_table2.py [cohort.parquet|cohort.csv]

Without an argument it reads the bundled demo cohort (tests/data/net_cohort.parquet).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import datafusion
import pandas as pd

import survql

ROOT = Path(__file__).resolve().parents[2]


def study_statements() -> tuple[str, str]:
    """The `net` view and the Table 2 query, as written in sql/net_study.sql."""
    script = (ROOT / "sql" / "net_study.sql").read_text()
    view = re.search(r"CREATE OR REPLACE VIEW net AS.*?;", script, re.S).group(0)
    table2 = script.split("==== Table 2", 1)[1]
    table2 = table2[table2.index("\nWITH") :]
    table2 = table2[: table2.index(";") + 1]
    return view, table2


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "net_cohort.parquet"
    cohort = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)

    ctx = datafusion.SessionContext()
    survql.register(ctx)
    ctx.from_pandas(cohort, name="cohort")
    view, table2 = study_statements()
    ctx.sql(view).collect()
    result = ctx.sql(table2).to_pandas()

    pd.set_option("display.width", 160)
    print("Table 2: Overall survival according to characteristics "
          f"(n = {len(cohort)}); median OS and 95% CI in months")
    # A NULL limit is a confidence limit the curve never reaches: "NR" as papers print it.
    print(result.to_string(index=False, na_rep="NR", float_format=lambda x: f"{x:.3g}"))
    for w in survql.warnings():
        print("warning:", w, file=sys.stderr)


if __name__ == "__main__":
    main()
