"""Shared fixtures: the repository's data, sessions with survql registered, and the survql
CLI (built by `cargo test`/`cargo build`) for bit-for-bit comparisons with the Rust side."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import datafusion
import pytest

import survql

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
TABLES = {
    "cohort": "net_cohort",
    "lung": "lung",
    "veteran": "veteran",
    "heart": "heart",
    "aml": "aml",
    "rossi": "rossi",
}


def session(partitions: int = 4, batch_size: int = 16) -> datafusion.SessionContext:
    """A session with survql and the reference datasets, several partitions and small
    batches so that partial states are merged."""
    config = (
        datafusion.SessionConfig()
        .with_target_partitions(partitions)
        .with_batch_size(batch_size)
        .with_repartition_aggregations(True)
    )
    ctx = datafusion.SessionContext(config)
    survql.register(ctx)
    for name, stem in TABLES.items():
        ctx.register_parquet(name, str(DATA / f"{stem}.parquet"))
    return ctx


@pytest.fixture
def ctx() -> datafusion.SessionContext:
    survql.warnings()  # start clean
    return session()


def survql_binary() -> Path:
    path = Path(os.environ.get("SURVQL_BIN", ROOT / "target" / "debug" / "survql"))
    if not path.exists():
        pytest.fail(f"the survql binary is needed for the comparison: build it (cargo build -p survql) or set SURVQL_BIN; not found: {path}")
    return path


def cli_rows(sql: str) -> list[dict]:
    """The rows of `sql` as the survql CLI computes them (JSON, full precision)."""
    args = [str(survql_binary()), "-q", "--format", "json"]
    for name, stem in TABLES.items():
        args += ["-t", f"{name}={DATA / (stem + '.parquet')}"]
    out = subprocess.run(args + ["-c", sql + ";"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def golden(name: str) -> dict:
    with open(DATA / "golden" / f"{name}.json") as f:
        doc = json.load(f)
    return {e["id"]: e for e in doc["entries"]}
