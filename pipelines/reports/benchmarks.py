"""Published real-world outcomes, held as data: the figures the one-page report sets beside the
clinic's own rates, each with its citation, population, timing and denominator.

Why data and not code: a published figure is only comparable with a clinic's rate when the
reader can see who was counted, when and how (indication, completers or everyone, time point),
and a clinic may want to add a newer study or remove one. So the figures live in a TOML file
(the shipped `pipelines/benchmarks/published.toml`, or the clinic's own copy named by
`[report] benchmarks_file`), and this module reads it, checks every entry, and says which file,
which entry and what is wrong when it cannot use one.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from ..instruments import REGISTRY
from ..settings import Settings

__all__ = ["Benchmark", "BenchmarkError", "SHIPPED", "TIMEPOINTS", "BASES", "benchmarks_path", "load", "parse"]

SHIPPED = Path(__file__).resolve().parents[1] / "benchmarks" / "published.toml"
# "after_induction" figures are compared with the clinic's rate after induction; "other" ones
# are listed with their timing but not matched to a clinic figure.
TIMEPOINTS = ("after_induction", "other")
BASES = ("completers", "everyone")


class BenchmarkError(ValueError):
    """A benchmarks file that cannot be used; the message names the file, the entry and why."""


@dataclass(frozen=True)
class Benchmark:
    """One published figure (see published.toml for what each field holds)."""

    key: str
    citation: str
    doi: str
    indication: str
    population: str
    n: int | None
    scale: str
    timepoint: str
    timing: str
    basis: str
    response: float
    remission: float | None = None
    remission_definition: str = ""
    durability_4_weeks: float | None = None
    durability_8_weeks: float | None = None
    notes: str = ""
    treated: int | None = None  # patients treated, of whom n were counted (McInnes: 537 of 9,016)


_TEXT = ("key", "citation", "doi", "indication", "population", "scale", "timepoint", "timing", "basis")
_SHARES = ("response", "remission", "durability_4_weeks", "durability_8_weeks")
_KNOWN = {f.name for f in fields(Benchmark)}
_REQUIRED = {"key", "citation", "doi", "indication", "population", "scale", "timepoint", "timing", "basis",
             "response"}


def benchmarks_path(settings: Settings) -> Path:
    """The clinic's benchmarks file (`[report] benchmarks_file`), else the shipped one."""
    return Path(settings.report.benchmarks_file) if settings.report.benchmarks_file else SHIPPED


def load(settings: Settings) -> list[Benchmark]:
    """The published figures of the clinic's benchmarks file, checked (`parse`).

    Raises BenchmarkError naming the file when it cannot be read or parsed, or an entry is wrong.
    """
    path = benchmarks_path(settings)
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except OSError as error:
        raise BenchmarkError(f"benchmarks file {path}: cannot be read ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise BenchmarkError(f"benchmarks file {path}: not valid TOML ({error})") from None
    return parse(raw, str(path))


def parse(raw: dict, source: str) -> list[Benchmark]:
    """The entries of a parsed benchmarks file, each checked.

    Parameters
    ----------
    raw : dict
        The file as `tomllib` reads it: a list of tables under `benchmark`.
    source : str
        The file's name, for messages.

    Returns
    -------
    list of Benchmark
        In the file's order.

    Raises
    ------
    BenchmarkError
        "benchmarks file F, entry N (key K): reason" for the first entry that is wrong: a
        missing or unknown field, text that is empty, n not a whole number of 1 or more, a
        share outside 0 to 1, an unknown scale, time point or basis, remission without its
        definition, or a key used twice.
    """
    if unknown := sorted(set(raw) - {"benchmark"}):
        raise BenchmarkError(f"benchmarks file {source}: unknown top-level entries {unknown}; "
                             "each figure is a [[benchmark]] table")
    entries = raw.get("benchmark", [])
    if not isinstance(entries, list) or not entries:
        raise BenchmarkError(f"benchmarks file {source}: no [[benchmark]] entries")
    result, keys = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"benchmarks file {source}, entry {number}" + (
            f" ({entry.get('key')!r})" if isinstance(entry, dict) and entry.get("key") else "")
        benchmark = _entry(entry, where)
        if benchmark.key in keys:
            raise BenchmarkError(f"{where}: key {benchmark.key!r} is used by an earlier entry; keys must differ")
        keys.add(benchmark.key)
        result.append(benchmark)
    return result


def _entry(entry, where: str) -> Benchmark:
    if not isinstance(entry, dict):
        raise BenchmarkError(f"{where}: not a table of fields")
    if missing := sorted(_REQUIRED - set(entry)):
        raise BenchmarkError(f"{where}: missing {', '.join(missing)}")
    if unknown := sorted(set(entry) - _KNOWN):
        raise BenchmarkError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_KNOWN))}")
    for name in (*_TEXT, "remission_definition", "notes"):
        value = entry.get(name, "")
        if not isinstance(value, str) or (name in _TEXT and not value.strip()):
            raise BenchmarkError(f"{where}: {name} must be text, not {value!r}")
    n = entry.get("n")  # optional: left out when the study does not say how many were counted
    treated = entry.get("treated")
    if treated is not None and (type(treated) is not int or treated < 1):
        raise BenchmarkError(f"{where}: treated must be a whole number of 1 or more, not {treated!r}")
    if n is not None and (type(n) is not int or n < 1):
        raise BenchmarkError(f"{where}: n must be a whole number of 1 or more, not {n!r}")
    for name in _SHARES:
        value = entry.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
                or not 0 <= value <= 1:
            raise BenchmarkError(f"{where}: {name} must be a share from 0 to 1 (0.536 for 53.6%), not {value!r}")
    if entry["scale"] not in REGISTRY:
        raise BenchmarkError(f"{where}: scale {entry['scale']!r} is not a known scale ({', '.join(REGISTRY)})")
    if entry["timepoint"] not in TIMEPOINTS:
        raise BenchmarkError(f"{where}: timepoint must be one of {', '.join(TIMEPOINTS)}, not {entry['timepoint']!r}")
    if entry["basis"] not in BASES:
        raise BenchmarkError(f"{where}: basis must be one of {', '.join(BASES)}, not {entry['basis']!r}")
    if entry.get("remission") is not None and not entry.get("remission_definition", "").strip():
        raise BenchmarkError(f"{where}: remission needs its remission_definition (e.g. \"PHQ-9 below 5\")")
    values = {name: (float(entry[name]) if name in _SHARES and entry.get(name) is not None else entry[name])
              for name in entry}
    return Benchmark(**{"n": None, **values})
