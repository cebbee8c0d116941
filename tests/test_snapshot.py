"""The analytics snapshot answers exactly as the live views do."""

from __future__ import annotations

import duckdb

from conftest import SAMPLE
from pipelines.analytics.snapshot import SNAPSHOT_VIEWS, open_snapshot
from pipelines.ingest import ingest
from pipelines.settings import Settings


def test_snapshot_tables_equal_the_views_and_shadow_them(tmp_path):
    db = tmp_path / "o.duckdb"
    ingest(db, [SAMPLE], Settings())
    live = duckdb.connect(str(db), read_only=True)
    snap = open_snapshot(db)
    for view in SNAPSHOT_VIEWS:
        expected = sorted(map(repr, live.execute(f"SELECT * FROM {view}").fetchall()))
        assert sorted(map(repr, snap.execute(f"SELECT * FROM {view}").fetchall())) == expected, view
        # the unqualified name now resolves to the temporary table
        kind = snap.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main' "
            "AND table_catalog = 'temp'", [view]).fetchall()
        assert kind == [("LOCAL TEMPORARY",)], view
