"""Small-cell suppression (pipelines/reports/suppression.py and the tables of the Clinic
outcomes page built with it): no count of 1 to 10 patients is shown, and none can be worked out
from the rest of the same table.

Every table is attacked the way a reader would: write down what the table says (shown cells,
the totals the page publishes elsewhere, rate x n) and the sums that tie its cells together
(groups add up to the cohort, a cross-tab's rows and columns to their margins, responders plus
non-responders to n), then solve. `Attack` does this with plain linear algebra written here,
independently of the module: a hidden quantity is recovered exactly when its coefficient vector
lies in the row space of the equations restricted to the unknowns.

The hand-built clinic (every patient PHQ-9, seven infusions on days 0, 2, 4, 7, 9, 11, 14 of
their course, baseline on day 0 before the first, one follow-up after the seventh):

| clinician | start    | evaluable | baseline | remission (-> 4) | response only  | no response     |
|-----------|----------|-----------|----------|------------------|----------------|-----------------|
| Dr. Adams | Jan 2025 | 30 (+4)   | 20       | 5                | 10 (-> 9)      | 15 (-> 16)      |
| Dr. Brown | Feb 2025 | 25        | 17       | 12               | 0              | 13 (-> 15)      |
| Dr. Chen  | Mar 2025 | 40        | 22       | 20               | 12 (-> 9)      | 8 (-> 16)       |
| Dr. Diaz  | Apr 2025 | 6         | 12       | 2                | 1 (-> 6)       | 3 (-> 11)       |

Dr. Adams also has 4 patients with two infusions and a baseline only (treated, not evaluable).
Totals: 105 treated, 101 evaluable, 62 responders (39 not), 39 remitters (62 not).

Hand-worked suppression by clinician (cell size 11): Diaz (6) is suppressed; the cohort's 101
minus the others would give him back, so the next smallest group, Brown (25), goes too. Chen's
32 responders leave 8 non-responders: his response count is blanked. Adams's 5 remitters are
blanked. Shown: Adams 30 evaluable, 15 responders; Chen 40 evaluable, 20 remitters.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from conftest import Clinic, assessment, only_row, open_page, patient, session
from pipelines.analytics import survival
from pipelines.reports import clinic as published
from pipelines.reports import complementary, suppression
from pipelines.analytics.cohorts import CohortFilter
from pipelines.settings import PrivacySettings, Settings, SettingsError, load_settings

SETTINGS = Settings()
MIN_CELL = 11
DAYS = (0, 2, 4, 7, 9, 11, 14)
# (clinician, start month, baseline, [(follow-up score, patients)])
DESIGN = [
    ("Dr. Adams", 1, 20, [(4, 5), (9, 10), (16, 15)]),
    ("Dr. Brown", 2, 17, [(4, 12), (15, 13)]),
    ("Dr. Chen", 3, 22, [(4, 20), (9, 12), (16, 8)]),
    ("Dr. Diaz", 4, 12, [(4, 2), (6, 1), (11, 3)]),
]
NAUSEA_INFUSIONS = 5  # side effect on 5 infusions: a small cell
NO_HEADACHE_INFUSIONS = 3  # headache on every infusion but 3: a small complement


def build(folder) -> Clinic:
    clinic = Clinic(folder)
    clinic.patients, clinic.sessions, clinic.assessments = [], [], []
    infusion = 0
    for doctor, month, baseline, outcomes in DESIGN:
        index = 0
        for follow_up, count in outcomes:
            for _ in range(count):
                pid = f"{doctor[4:].upper()}{index:02d}"
                start = dt.datetime(2025, month, 1, 9) + dt.timedelta(days=index % 20)
                clinic.patients.append(patient(pid, clinician=doctor, intake=start.date().isoformat()))
                for k, day in enumerate(DAYS, start=1):
                    effects = ["dissociation"]
                    if infusion < NAUSEA_INFUSIONS:
                        effects.append("nausea")
                    if infusion >= NO_HEADACHE_INFUSIONS:
                        effects.append("headache")
                    clinic.sessions.append(session(f"{pid}-{k}", (start + dt.timedelta(days=day)).isoformat(),
                                                   pid=pid, side_effects=";".join(effects)))
                    infusion += 1
                clinic.assessments.append(assessment(f"{pid}-b", (start - dt.timedelta(minutes=30)).isoformat(),
                                                     total=baseline, pid=pid))
                # after the 7th infusion, 1 to 10 days later: response times spread over 10 days
                later = start + dt.timedelta(days=14 + 1 + index % 10, hours=1)
                clinic.assessments.append(assessment(f"{pid}-f", later.isoformat(), total=follow_up, pid=pid))
                index += 1
    for n in range(4):  # Dr. Adams: two infusions and a baseline, no follow-up
        pid = f"ADAMSX{n}"
        start = dt.datetime(2025, 1, 25, 9)
        clinic.patients.append(patient(pid, clinician="Dr. Adams", intake=start.date().isoformat()))
        clinic.sessions += [session(f"{pid}-1", start.isoformat(), pid=pid, side_effects="dissociation;headache"),
                            session(f"{pid}-2", (start + dt.timedelta(days=2)).isoformat(), pid=pid,
                                    side_effects="dissociation;headache")]
        clinic.assessments.append(assessment(f"{pid}-b", (start - dt.timedelta(minutes=30)).isoformat(), total=20,
                                             pid=pid))
    clinic.load()
    return clinic


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Clinic:
    return build(tmp_path_factory.mktemp("suppression"))


@pytest.fixture(scope="module")
def con(built):
    connection = built.connect()
    yield connection
    connection.close()


# --- the reader's attack ---------------------------------------------------------------------------

class Attack:
    """What a reader knows: named quantities, some known (shown), the rest unknown, tied by
    linear equations sum(coefficient x quantity) = 0."""

    def __init__(self):
        self.known: dict[str, float] = {}
        self.unknown: list[str] = []
        self.equations: list[dict[str, float]] = []

    def quantity(self, name: str, value) -> None:
        """A quantity the table shows (`value`) or blanks (<NA>/NaN/None)."""
        if value is None or pd.isna(value):
            self.unknown.append(name)
        else:
            self.known[name] = float(value)

    def sums(self, parts: list[str], total: str) -> None:
        """The quantities `parts` add up to `total`: parts - total = 0."""
        self.equations.append({**{p: 1.0 for p in parts}, total: -1.0})

    def recovers(self, target: dict[str, float]) -> bool:
        """Whether the linear combination `target` of quantities is determined by what is known."""
        target_unknown = {n: c for n, c in target.items() if n in self.unknown}
        if not target_unknown:
            return True
        matrix = np.array([[eq.get(n, 0.0) for n in self.unknown] for eq in self.equations])
        matrix = matrix.reshape(-1, len(self.unknown))
        goal = np.array([[target_unknown.get(n, 0.0) for n in self.unknown]])
        return np.linalg.matrix_rank(np.vstack([matrix, goal])) == np.linalg.matrix_rank(matrix)

    def recovered(self, names) -> list[str]:
        return [n for n in names if n in self.unknown and self.recovers({n: 1.0})]


def lines_with_one_unknown(attack: Attack) -> list[dict]:
    return [eq for eq in attack.equations if sum(n in attack.unknown for n in eq) == 1]


# --- the engine on hand-made tables ---------------------------------------------------------------

def test_small_cells_are_one_to_ten_and_zero_is_shown():
    assert list(suppression.small([0, 1, 10, 11, None, math.nan], 11)) == [False, True, True, False, False, False]
    assert not suppression.small([1, 2], 1).any()  # cell size 1: nothing is small


def test_a_single_small_group_takes_the_next_smallest_with_it():
    counts = [30, 4, 25, 0, 12]  # total 71, published elsewhere
    hidden = complementary.suppress_partition(counts, True, sum(counts), MIN_CELL)
    # 4 is small; 71 - (30 + 25 + 0 + 12) would give it back, so 12 (smallest non-zero) goes too
    assert list(hidden) == [False, True, False, False, True]
    attack = Attack()
    for i, c in enumerate(counts):
        attack.quantity(f"g{i}", None if hidden[i] else c)
    attack.quantity("total", sum(counts))
    attack.sums([f"g{i}" for i in range(5)], "total")
    assert attack.recovered(attack.unknown) == []


def test_cell_size_one_suppresses_nothing():
    assert not complementary.suppress_partition([1, 2, 3], True, 6, 1).any()
    assert not complementary.suppress_cross_tab([[1, 2], [3, 4]], 1).cells.any()


def attack_cross_tab(grid, mask) -> Attack:
    grid = np.asarray(grid)
    attack = Attack()
    rows, columns = grid.shape
    for r in range(rows):
        for c in range(columns):
            attack.quantity(f"c{r},{c}", None if mask.cells[r, c] else grid[r, c])
        attack.quantity(f"row{r}", None if mask.row_totals[r] else grid[r].sum())
        attack.sums([f"c{r},{c}" for c in range(columns)], f"row{r}")
    for c in range(columns):
        attack.quantity(f"col{c}", None if mask.column_totals[c] else grid[:, c].sum())
        attack.sums([f"c{r},{c}" for r in range(rows)], f"col{c}")
    attack.quantity("all", None if mask.total else grid.sum())
    attack.sums([f"row{r}" for r in range(rows)], "all")
    attack.sums([f"col{c}" for c in range(columns)], "all")
    return attack


def small_names(grid) -> list[str]:
    grid = np.asarray(grid)
    names = [f"c{r},{c}" for r in range(grid.shape[0]) for c in range(grid.shape[1]) if 1 <= grid[r, c] < MIN_CELL]
    names += [f"row{r}" for r in range(grid.shape[0]) if 1 <= grid[r].sum() < MIN_CELL]
    names += [f"col{c}" for c in range(grid.shape[1]) if 1 <= grid[:, c].sum() < MIN_CELL]
    return names


def test_cross_tab_hides_a_small_cell_in_its_row_and_its_column():
    grid = [[20, 3, 0], [15, 30, 12], [0, 0, 25]]
    mask = complementary.suppress_cross_tab(grid, MIN_CELL)
    # 3 is small; its row needs a second blank (20), its column one more (30), whose row has
    # two and whose column has two: 15 closes the rectangle
    assert mask.cells.tolist() == [[True, True, False], [True, True, False], [False, False, False]]
    attack = attack_cross_tab(grid, mask)
    assert lines_with_one_unknown(attack) == []
    assert attack.recovered(attack.unknown) == []


@pytest.mark.parametrize("seed", range(40))
def test_random_cross_tabs_never_give_a_small_cell_back(seed):
    rng = np.random.default_rng(seed)
    shape = rng.integers(2, 6, size=2)
    # many small cells and zeros, some large: the hard case for complementary suppression
    grid = np.where(rng.random(shape) < 0.3, 0, rng.choice([1, 2, 5, 9, 12, 20, 40], size=shape))
    mask = complementary.suppress_cross_tab(grid, MIN_CELL)
    attack = attack_cross_tab(grid, mask)
    smalls = small_names(grid)
    assert all(name in attack.unknown for name in smalls)
    assert attack.recovered(smalls) == [], grid
    assert [eq for eq in lines_with_one_unknown(attack) if any(n in smalls for n in eq)] == []


@pytest.mark.parametrize("seed", range(40))
def test_random_group_tables_never_give_a_small_count_back(seed):
    rng = np.random.default_rng(100 + seed)
    size = int(rng.integers(2, 7))
    n = rng.choice([0, 3, 8, 11, 14, 25, 60], size=size)
    k = np.array([rng.integers(0, m + 1) for m in n])
    frame = pd.DataFrame({"group": [f"g{i}" for i in range(size)], "n_evaluable": n, "response_n": k,
                          "response_rate": np.where(n > 0, k / np.maximum(n, 1), np.nan)})
    totals = {"n_evaluable": n.sum(), "response_n": k.sum()}
    shown, hidden_totals = suppression.suppress_counts(frame, MIN_CELL, "n_evaluable", ("response_n",), totals=totals)
    attack = attack_group_table(shown, totals, hidden_totals, "n_evaluable", ("response",))
    smalls = [f"n{i}" for i in range(size) if 1 <= n[i] < MIN_CELL]
    smalls += [f"response{i}" for i in range(size) if 1 <= k[i] < MIN_CELL]
    smalls += [f"not_response{i}" for i in range(size) if 1 <= n[i] - k[i] < MIN_CELL]
    recovered = [s for s in smalls if attack.recovers(attack.target(s))]
    if hidden_totals["response_n"] or 1 <= totals["n_evaluable"] - totals["response_n"] < MIN_CELL:
        # the headline blanks a small total by the same rule; what the totals alone give is its job
        recovered = [s for s in recovered if not attack.recovers_from_totals_alone(attack.target(s))]
    assert recovered == [], frame


def attack_group_table(shown: pd.DataFrame, totals: dict, hidden_totals: dict, n_column: str,
                       outcomes: tuple[str, ...]) -> "GroupAttack":
    """A reader of a suppressed group table: per group n, each outcome count and its complement
    (never shown), the rate when shown (rate x n gives the count back), and the cohort's totals
    as the headline shows them."""
    attack = GroupAttack()
    for i, row in shown.reset_index(drop=True).iterrows():
        attack.quantity(f"n{i}", row[n_column])
        for name in outcomes:
            count = row[f"{name}_n"]
            rate = row.get(f"{name}_rate")
            if pd.isna(count) and pd.notna(rate) and pd.notna(row[n_column]):
                count = rate * row[n_column]  # rate x n
            attack.quantity(f"{name}{i}", count)
            attack.quantity(f"not_{name}{i}", None)
            attack.sums([f"{name}{i}", f"not_{name}{i}"], f"n{i}")
    size = len(shown)
    attack.quantity("N", None if hidden_totals.get(n_column) else totals[n_column])
    attack.sums([f"n{i}" for i in range(size)], "N")
    for name in outcomes:
        attack.quantity(f"{name}T", None if hidden_totals.get(f"{name}_n") else totals[f"{name}_n"])
        attack.sums([f"{name}{i}" for i in range(size)], f"{name}T")
    return attack


class GroupAttack(Attack):
    def target(self, name: str) -> dict[str, float]:
        return {name: 1.0}

    def recovers_from_totals_alone(self, target) -> bool:
        """Whether the published totals alone (no group's cell) determine `target`."""
        alone = GroupAttack()
        alone.known = {n: v for n, v in self.known.items() if n in ("N",) or n.endswith("T")}
        alone.unknown = [n for n in [*self.unknown, *self.known] if n not in alone.known]
        alone.equations = self.equations
        return alone.recovers(target)


def test_risk_table_keeps_rows_that_differ_by_the_cell_size():
    curve = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "at_risk": [60, 55, 48, 40, 20, 9],
                          "events": [5, 7, 8, 20, 11, 9], "censored": [0, 0, 0, 0, 0, 0],
                          "responded": [0.1, 0.2, 0.3, 0.5, 0.7, 0.9]})
    thinned = suppression.thin_risk_table(curve, MIN_CELL)
    # 60 kept; 55 is 5 below it; 48 is 12 below; 40 is 8 below 48; 20 is 28 below; 9 < 11 followed
    assert list(thinned.time) == [1, 3, 5] and list(thinned.at_risk) == [60, 48, 20]
    assert "events" not in thinned and "censored" not in thinned


# --- settings ------------------------------------------------------------------------------------------

def test_privacy_settings_load_and_validate(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("[privacy]\nmin_cell_size = 20\n", encoding="utf-8")
    assert load_settings(config).privacy.min_cell_size == 20
    assert Settings().privacy.min_cell_size == 11
    for bad in ("0", '"11"', "true", "2.5"):
        config.write_text(f"[privacy]\nmin_cell_size = {bad}\n", encoding="utf-8")
        with pytest.raises(SettingsError, match=r"\[privacy\] min_cell_size"):
            load_settings(config)
    config.write_text("[privacy]\ncell = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown"):
        load_settings(config)


def test_analytics_take_the_cell_size_from_the_settings(con):
    everything = Settings(privacy=PrivacySettings(min_cell_size=1))
    groups = published.outcomes_by_group(con, everything, by="clinician")["groups"]
    assert not groups.suppressed.any() and groups.response_n.notna().all()
    strict = Settings(privacy=PrivacySettings(min_cell_size=41))
    assert published.outcomes_by_group(con, strict, by="clinician")["groups"].suppressed.all()


# --- the page's tables on the hand-built clinic ---------------------------------------------------

def test_outcomes_by_clinician_by_hand(con):
    result = published.outcomes_by_group(con, SETTINGS, by="clinician")
    groups = result["groups"].set_index("group")
    assert list(result["groups"].group) == ["Dr. Adams", "Dr. Chen", "Dr. Brown", "Dr. Diaz"]
    adams, chen = groups.loc["Dr. Adams"], groups.loc["Dr. Chen"]
    assert (adams.n_evaluable, adams.n_patients, adams.response_n, adams.response_rate) == (30, 34, 15, 0.5)
    assert pd.isna(adams.remission_n) and math.isnan(adams.remission_rate) and math.isnan(adams.remission_low)
    assert (chen.n_evaluable, chen.remission_n, chen.remission_rate) == (40, 20, 0.5)
    assert pd.isna(chen.response_n) and math.isnan(chen.response_rate) and math.isnan(chen.response_high)
    for name in ("Dr. Brown", "Dr. Diaz"):
        row = groups.loc[name]
        assert row.suppressed and row.n_shown == "suppressed"
        assert row[["n_patients", "n_evaluable", "response_n", "remission_n"]].isna().all()
    overall = only_row(result["overall"])
    assert (overall.n_evaluable, overall.response_n) == (101, 62)


@pytest.mark.parametrize("table", ["clinician", "month"])
def test_no_suppressed_count_of_the_group_tables_can_be_recovered(con, table):
    if table == "clinician":
        shown = published.outcomes_by_group(con, SETTINGS, by="clinician")["groups"]
        true = {"Dr. Adams": (30, 15, 5), "Dr. Brown": (25, 12, 12), "Dr. Chen": (40, 32, 20), "Dr. Diaz": (6, 3, 2)}
    else:
        shown = published.monthly_outcomes(con, SETTINGS)
        true = {"2025-01-01": (30, 15, 5), "2025-02-01": (25, 12, 12), "2025-03-01": (40, 32, 20),
                "2025-04-01": (6, 3, 2)}
    shown = shown.assign(key=shown.group.astype(str)).set_index("key").loc[list(true)].reset_index(drop=True)
    # the headline shows the cohort's totals: 101 evaluable, 62 responders, 39 remitters
    totals = {"n_evaluable": 101, "response_n": 62, "remission_n": 39}
    attack = attack_group_table(shown, totals, {}, "n_evaluable", ("response", "remission"))
    smalls = []
    for i, (n, responders, remitters) in enumerate(true.values()):
        for name, value in ((f"n{i}", n), (f"response{i}", responders), (f"not_response{i}", n - responders),
                            (f"remission{i}", remitters), (f"not_remission{i}", n - remitters)):
            if 1 <= value < MIN_CELL:
                smalls.append(name)
    assert smalls  # Diaz's 6, his 3 and 2, Chen's 8 non-responders, Adams's 5 remitters ...
    assert attack.recovered(smalls) == []
    assert [s for s in smalls if attack.recovers({s: 1.0})] == []
    # and nothing shown is a small count
    numbers = shown[["n_evaluable", "response_n", "remission_n"]].stack()
    assert not ((numbers >= 1) & (numbers < MIN_CELL)).any()


def test_headline_of_a_small_cohort_says_fewer_than(con):
    diaz = published.headline_outcomes(con, SETTINGS, cohort=CohortFilter(clinicians=("Dr. Diaz",)))
    row = only_row(diaz)
    assert row.suppressed and row.n_shown == "suppressed"
    assert row[["n_patients", "n_evaluable", "response_n", "remission_n"]].isna().all()
    assert math.isnan(row.response_rate) and math.isnan(row.median_change)
    # Chen alone: 40 evaluable, 32 responders leave 8: the response count and rate are blanked
    chen = only_row(published.headline_outcomes(con, SETTINGS, cohort=CohortFilter(clinicians=("Dr. Chen",))))
    assert not chen.suppressed and chen.n_evaluable == 40 and pd.isna(chen.response_n)
    assert math.isnan(chen.response_rate) and chen.remission_n == 20
    activity = only_row(published.headline_activity(con, SETTINGS, CohortFilter(clinicians=("Dr. Diaz",))))
    assert activity.suppressed and pd.isna(activity.n_patients)


def test_severity_transitions_cannot_be_recovered(con):
    # by hand (baseline band -> band after induction): Diaz 12 moderate -> 4 minimal (2), 6 mild
    # (1), 11 moderate (3); Brown 17 moderately severe -> 4 minimal (12), 15 moderately severe
    # (13); Adams 20 and Chen 22 severe -> 4 minimal (5 + 20), 9 mild (10 + 12), 16 moderately
    # severe (15 + 8)
    true = np.zeros((5, 5), dtype=int)
    true[2, 0], true[2, 1], true[2, 2] = 2, 1, 3
    true[3, 0], true[3, 3] = 12, 13
    true[4, 0], true[4, 1], true[4, 3] = 25, 22, 23
    raw = published.severity_transitions(con, SETTINGS, min_cell=1)
    assert raw.pivot(index="baseline_order", columns="after_order", values="n_patients").to_numpy().tolist() == \
        true.tolist()
    frame = published.severity_transitions(con, SETTINGS)
    assert frame.attrs["n"] == 101
    cells = frame.pivot(index="baseline_order", columns="after_order", values="n_patients")
    row_totals = frame.drop_duplicates("baseline_order").set_index("baseline_order")["baseline_total"]
    column_totals = frame.drop_duplicates("after_order").set_index("after_order")["after_total"]
    attack = Attack()
    for r in range(5):
        for c in range(5):
            attack.quantity(f"c{r},{c}", cells.iloc[r, c])
        attack.quantity(f"row{r}", row_totals.iloc[r])
        attack.sums([f"c{r},{c}" for c in range(5)], f"row{r}")
    for c in range(5):
        attack.quantity(f"col{c}", column_totals.iloc[c])
        attack.sums([f"c{r},{c}" for r in range(5)], f"col{c}")
    attack.quantity("all", frame.attrs["n"])
    attack.sums([f"row{r}" for r in range(5)], "all")
    attack.sums([f"col{c}" for c in range(5)], "all")
    smalls = small_names(true)
    assert set(smalls) >= {"c2,0", "c2,1", "c2,2", "row2", "col2"}
    assert attack.recovered(smalls) == []
    assert [eq for eq in lines_with_one_unknown(attack) if any(n in smalls for n in eq)] == []
    # what is shown is never a small count
    shown = pd.concat([cells.stack(), row_totals, column_totals]).dropna()
    assert not ((shown >= 1) & (shown < MIN_CELL)).any()


def test_trajectory_groups_cannot_be_recovered_from_the_cohorts_point(con):
    grouped = published.trajectory(con, SETTINGS, group_by=("clinician",))
    whole = published.trajectory(con, SETTINGS).set_index("infusion")
    # infusion 1 (the baseline): Adams 34, Brown 25, Chen 40, Diaz 6: Diaz and Brown blanked
    first = grouped[grouped.infusion == 1].set_index("clinician")
    assert first.loc["Dr. Diaz"].suppressed and first.loc["Dr. Brown"].suppressed
    assert first.loc["Dr. Adams", "n"] == 34 and whole.loc[1, "n"] == 105
    assert math.isnan(first.loc["Dr. Diaz", "mean"])
    for infusion, part in grouped.groupby("infusion"):
        attack = Attack()
        for i, n in enumerate(part["n"]):
            attack.quantity(f"g{i}", n)
        attack.quantity("whole", whole.loc[infusion, "n"])
        attack.sums([f"g{i}" for i in range(len(part))], "whole")
        assert attack.recovered(attack.unknown) == [], infusion


def test_retention_hides_the_four_who_stopped_early(con):
    row = only_row(published.retention_summary(con, SETTINGS))
    # 105 started, 101 completed induction and went on (7 infusions), 4 stopped after two: the
    # 4 would follow from started - completed and from started - maintenance
    assert row.n_started == 105
    assert pd.isna(row.completed_induction_n) and pd.isna(row.any_maintenance_n)
    assert math.isnan(row.completed_induction_rate) and math.isnan(row.any_maintenance_high)
    attack = Attack()
    for name in ("started", "completed", "maintenance"):
        column = {"started": "n_started", "completed": "completed_induction_n", "maintenance": "any_maintenance_n"}
        attack.quantity(name, row[column[name]])
    for name in ("stopped", "induction_only"):
        attack.quantity(name, None)
    attack.sums(["stopped", "completed"], "started")
    attack.sums(["induction_only", "maintenance"], "completed")
    assert not attack.recovers({"stopped": 1.0})
    assert not attack.recovers({"stopped": 1.0, "induction_only": 1.0})  # started - maintenance


def test_infusions_per_patient_hides_a_complement(con):
    frame = published.infusions_distribution(con, SETTINGS).set_index("n_infusions")
    # 4 patients with 2 infusions (small) and 101 with 7: the 101 goes too, zeros stay
    assert frame.suppressed.sum() == 2 and frame.loc[2].suppressed and frame.loc[7].suppressed
    assert (frame.loc[~frame.suppressed, "n_patients"] == 0).all()
    attack = Attack()
    for n, count in frame["n_patients"].items():
        attack.quantity(f"k{n}", count)
    attack.quantity("started", 105)
    attack.sums([f"k{n}" for n in frame.index], "started")
    assert attack.recovered(attack.unknown) == []


def test_infusions_per_patient_blanks_the_share_with_its_interval(con):
    frame = published.infusions_distribution(con, SETTINGS).set_index("n_infusions")
    hidden = frame[frame.suppressed]
    # either bound of a share's interval gives its count back (Wilson's bounds are monotone in k)
    assert len(hidden) == 2 and hidden.n_patients.isna().all()
    assert hidden[["share", "share_low", "share_high"]].isna().all().all()
    shown = frame[~frame.suppressed]
    assert shown[["share", "share_low", "share_high"]].notna().all().all()
    assert ((shown.share_low <= shown.share) & (shown.share <= shown.share_high)).all()


def test_time_to_response_risk_table_has_no_small_steps(con):
    km = published.time_to_response(con, SETTINGS)
    curve = km["curve"]
    assert "events" not in curve and "censored" not in curve
    assert curve.at_risk.iloc[0] == 101 and (curve.at_risk >= MIN_CELL).all()
    drops = -curve.at_risk.diff().dropna()
    assert (drops >= MIN_CELL).all()
    raw = survival.time_to_response(con, SETTINGS)["curve"]
    assert len(curve) < len(raw)  # follow-ups on ten different days: steps of about 10 each
    summary = only_row(km["summary"])
    assert (summary.n, summary.events) == (101, 62)
    small = only_row(published.time_to_response(con, SETTINGS, cohort=CohortFilter(clinicians=("Dr. Diaz",)))
                     ["summary"])
    assert small.suppressed and pd.isna(small.events)


def test_safety_rates_blank_small_counts_and_small_complements(con):
    rates = published.safety_rates(con, SETTINGS)
    effects = rates["effects"].set_index("effect")
    # 715 infusions: nausea on 5, headache on all but 3, dissociation on all, no adverse event
    assert (effects.n_infusions == 715).all()
    assert pd.isna(effects.loc["nausea", "n_affected_infusions"]) and math.isnan(effects.loc["nausea", "per_100"])
    assert pd.isna(effects.loc["headache", "n_affected_infusions"])
    assert math.isnan(effects.loc["headache", "per_100_low"])
    assert effects.loc["dissociation", "n_affected_infusions"] == 715
    assert effects.loc["adverse event (any)", "n_affected_infusions"] == 0


def test_waterfall_and_cadss_of_a_small_cohort(con):
    diaz = CohortFilter(clinicians=("Dr. Diaz",))
    bars = published.waterfall(con, SETTINGS, cohort=diaz)
    assert bars.empty and bars.attrs["suppressed"]
    assert len(published.waterfall(con, SETTINGS)) == 101
    cadss = published.cadss_points(con, SETTINGS, diaz)
    assert cadss.suppressed.all() and cadss["n"].isna().all() and cadss["mean"].isna().all()


# --- the page -------------------------------------------------------------------------------------------

@pytest.fixture
def downloads(monkeypatch):
    """Every CSV the page hands to st.download_button: {file name: text}."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    captured = {}
    original = MediaFileManager.add

    def record(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            captured[file_name] = path_or_data.decode("utf-8")
        return original(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", record)
    return captured


def test_page_says_fewer_than_for_a_small_cohort(built, monkeypatch):
    app = open_page(built.db, "views/clinic.py", monkeypatch)
    app.multiselect(key="filter_clinicians").set_value(["Dr. Diaz"])
    app.run()
    assert not app.exception
    assert any("Fewer than 11 patients in this cohort" in info.value for info in app.info)
    assert not app.metric and not app.dataframe and not app.download_button


def test_page_csv_downloads_hold_no_suppressed_number(built, monkeypatch, downloads):
    import io

    app = open_page(built.db, "views/clinic.py", monkeypatch)
    app.session_state["clinic_tab"] = "Clinicians and sites"
    app.run()
    assert not app.exception
    csv = pd.read_csv(io.StringIO(downloads["outcomes_by_clinician.csv"])).set_index("Clinician")
    # a blanked count and its rate read "suppressed" (dashboard/suppressed.py), never empty
    for name in ("Dr. Brown", "Dr. Diaz"):
        row = csv.loc[name]
        assert row["Patients evaluated"] == "suppressed"
        assert set(row.drop("Patients evaluated")) <= {"suppressed"}, row
    assert csv.loc["Dr. Chen", "Response (patients)"] == "suppressed" and csv.loc["Dr. Chen", "Response rate (%)"] == "suppressed"
    assert csv.loc["Dr. Adams", "Remission (patients)"] == "suppressed"
    counts = csv[["Response (patients)", "Remission (patients)"]].stack()
    numbers = pd.to_numeric(counts, errors="coerce")
    assert not ((numbers >= 1) & (numbers < MIN_CELL)).any() and (counts[numbers.isna()] == "suppressed").all()
    # the table on screen is the same frame
    table = next(d.value for d in app.dataframe if "Clinician" in d.value.columns).set_index("Clinician")
    assert table.loc["Dr. Diaz", "Patients evaluated"] == "suppressed"
    assert table.loc["Dr. Diaz", "Response rate (%)"] == "suppressed"

    app.session_state["clinic_tab"] = "Change per patient"
    app.run()
    assert not app.exception
    moves = pd.read_csv(io.StringIO(downloads["severity_transitions.csv"]))
    numbers = pd.to_numeric(moves["Patients"], errors="coerce")
    assert ((numbers == 0) | (numbers >= MIN_CELL) | numbers.isna()).all()
    assert (moves.loc[numbers.isna(), "Patients"] == "suppressed").all()
    totals = moves[["Patients at this baseline severity", "Patients at this severity after induction"]].stack()
    values = pd.to_numeric(totals, errors="coerce")
    assert not ((values >= 1) & (values < MIN_CELL)).any() and (totals[values.isna()] == "suppressed").all()
