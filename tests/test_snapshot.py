"""The analytics snapshot answers exactly as the live views do, in memory or in a file."""

from __future__ import annotations

import gc

import duckdb
import pytest

from conftest import SAMPLE
from pipelines.analytics.snapshot import SNAPSHOT_ANALYTICS_VIEWS, SNAPSHOT_VIEWS, open_snapshot
from pipelines.ingest import ingest
from pipelines.settings import Settings


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    db = tmp_path_factory.mktemp("snapshot") / "o.duckdb"
    ingest(db, [SAMPLE], Settings())
    return db


@pytest.mark.parametrize("in_file", [False, True], ids=["in memory", "in a file"])
def test_snapshot_tables_equal_the_views_and_shadow_them(database, tmp_path, in_file):
    store = tmp_path / "snapshot.duckdb" if in_file else None
    live = duckdb.connect(str(database), read_only=True)
    snap = open_snapshot(database, store=store, memory_limit="256MB", use_stored=False)  # computed here
    for view in (*SNAPSHOT_VIEWS, *SNAPSHOT_ANALYTICS_VIEWS):
        expected = sorted(map(repr, live.execute(f"SELECT * FROM {view}").fetchall()))
        assert sorted(map(repr, snap.execute(f"SELECT * FROM {view}").fetchall())) == expected, view
        # the unqualified name now resolves to the temporary schema (a table, or a view of the store)
        kind = snap.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main' "
            "AND table_catalog = 'temp'", [view]).fetchall()
        assert kind == [("VIEW" if in_file else "LOCAL TEMPORARY",)], view
    live.close()
    assert snap.execute("SELECT current_setting('memory_limit')").fetchall()[0][0].startswith("244")  # 256 MB in MiB
    with pytest.raises(duckdb.Error):  # the outcomes database itself stays read-only
        snap.execute("DELETE FROM patients")
    if in_file:
        assert store.exists()
        snap.close()
        del snap
        gc.collect()
        assert not store.exists(), "the store is removed with its connection"


def test_a_missing_database_is_refused_in_both_modes(tmp_path):
    for store in (None, tmp_path / "s.duckdb"):
        with pytest.raises(duckdb.IOException, match="does not exist"):
            open_snapshot(tmp_path / "missing.duckdb", store=store)
