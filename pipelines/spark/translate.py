"""The outcome view files, translated mechanically from DuckDB SQL to Spark SQL.

The definitions are written once, in `pipelines/sql/views/*.sql` (DuckDB). This module never
holds a second copy: it parses each file with sqlglot (`read="duckdb"`), applies the few
rewrite rules below to the syntax tree, and prints Spark SQL (`write="spark"`). sqlglot itself
translates the rest (`arg_max`/`arg_min` → `max_by`/`min_by`, struct literals, `QUALIFY` → a
subquery on `row_number()`, `x::DATE` → `CAST`, `date_diff('day', a, b)` → `DATEDIFF(DAY, a, b)`,
NULL ordering made explicit, ...).

Rewrite rules (DuckDB constructs sqlglot does not carry over to Spark):

1. **Macros are inlined.** `CREATE MACRO judge_outcome(...) AS {...}` (views/outcome_flags.sql)
   has no Spark SQL counterpart (Spark has no macros; a SQL function would need a catalog to
   live in, inlining needs nothing); every call `judge_outcome(a, b, ...)` in a later file is
   replaced by the macro's body with each parameter replaced by its argument (in parentheses). The body is the struct of the six
   flags, so `flags.response` reads the same field on both engines.
2. **`ASOF LEFT JOIN` becomes a range join.** DuckDB's ASOF match of a row of L is the row of R
   with the greatest `u` meeting `<equalities> AND l.t > r.u` (views/outcomes.sql, `scores`:
   the latest infusion started before each score). So each row of R is the match of the rows
   of L from its own `u` up to the next row's `u`: `L ASOF LEFT JOIN R AS r ON <cond>` becomes
   `L LEFT JOIN (SELECT *, lead(r.u) OVER (PARTITION BY <r's equality columns> ORDER BY r.u) AS
   asof_bound FROM R AS r) AS r ON <cond> AND (r.asof_bound IS NULL OR l.t <= r.asof_bound)`
   (`>=` pairs with `<`; `<`/`<=`, the nearest later row, use `lag` and `>=`/`>`). An equi-join
   on the keys plus a filter, which Spark runs far faster than a lateral `ORDER BY ... LIMIT 1`
   (about three times on the sample). Rows of R with equal `u` (two infusions started at the same
   minute) make the last in that order the match, where DuckDB picks one of them; `r.*` would
   also show the extra `asof_bound` column (the views select named columns of R only).
3. **`d - to_days(n)` becomes `date_sub(d, CAST(n AS INT))`** (views/outcomes.sql, the baseline
   window): DuckDB's day interval from a number of days (an INTEGER there too); Spark subtracts
   days from a date directly, and wants them as INT (the setting is a BIGINT column).
4. **`WITH x AS MATERIALIZED (...)` loses the hint** (views/scores_by_infusion.sql): a planner
   hint in DuckDB, not Spark syntax; the meaning is the same without it.
5. **`CREATE OR REPLACE VIEW name AS query` gives `(name, query)`**: the caller registers each
   query as a Spark temporary view (`createOrReplaceTempView`), so nothing needs a metastore.

Types: Spark reads the lake's `TIMESTAMP` columns (clinic local time, no zone) as
`TIMESTAMP_NTZ`, so no clinical window shifts with the session's time zone. `100.0 * x / y` is
a DECIMAL in Spark (a DOUBLE in DuckDB); `pipelines.spark.engine.compute` writes such columns
as DOUBLE.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from .. import sql

READ, WRITE = "duckdb", "spark"
# DuckDB's ASOF inequality, from the left row's side: `l.t > r.u` wants the largest u.
LATEST_FIRST = (exp.GT, exp.GTE)


@dataclass(frozen=True)
class Macro:
    """A DuckDB scalar macro: its parameter names and body (a sqlglot expression)."""

    params: tuple[str, ...]
    body: exp.Expression


def _inline_macros(tree: exp.Expression, macros: dict[str, Macro]) -> exp.Expression:
    """Rule 1: each call of a known macro replaced by its body, arguments in place of parameters."""

    def expand(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous) or node.name.lower() not in macros:
            return node
        macro = macros[node.name.lower()]
        if len(node.expressions) != len(macro.params):
            raise ValueError(f"macro {node.name} takes {len(macro.params)} arguments, given {len(node.expressions)}")
        arguments = dict(zip(macro.params, node.expressions))

        def substitute(inner: exp.Expression) -> exp.Expression:
            if isinstance(inner, exp.Column) and not inner.table and inner.name.lower() in arguments:
                return exp.paren(arguments[inner.name.lower()].copy(), copy=False)
            return inner

        return macro.body.copy().transform(substitute)

    return tree.transform(expand)


# For `l.t <op> r.u`: which neighbour of r (by u, within the equality keys) bounds the rows of L
# that r is the ASOF match of, and how l.t compares with that bound.
ASOF_BOUNDS = {exp.GT: ("LEAD", exp.LTE), exp.GTE: ("LEAD", exp.LT), exp.LT: ("LAG", exp.GTE), exp.LTE: ("LAG", exp.GT)}
FLIPPED = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}
ASOF_BOUND = "asof_bound"


def _asof_to_range_join(tree: exp.Expression) -> exp.Expression:
    """Rule 2: `ASOF LEFT JOIN R AS r ON <equalities> AND l.t > r.u` → a LEFT JOIN to R with each
    row's next `u` (`lead(u) OVER (PARTITION BY <r's equality columns> ORDER BY u)`) on
    `<the same condition> AND (r.asof_bound IS NULL OR l.t <= r.asof_bound)`."""
    for join in list(tree.find_all(exp.Join)):
        if (join.args.get("method") or "").upper() != "ASOF":
            continue
        right = join.this
        alias = right.alias_or_name
        condition = join.args["on"]
        parts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        inequalities = [c for c in parts if type(c) in FLIPPED]
        if len(inequalities) != 1:
            raise ValueError(f"ASOF join on {alias}: expected one inequality, found {len(inequalities)}")
        inequality = inequalities[0]
        # Written as `left <op> right`: flip `r.u <op> l.t` round.
        if isinstance(inequality.expression, exp.Column) and inequality.expression.table == alias:
            left_value, key, operator = inequality.this, inequality.expression, type(inequality)
        elif isinstance(inequality.this, exp.Column) and inequality.this.table == alias:
            left_value, key, operator = inequality.expression, inequality.this, FLIPPED[type(inequality)]
        else:
            raise ValueError(f"ASOF join on {alias}: the inequality names no column of {alias}")
        keys = [column.copy() for c in parts if isinstance(c, exp.EQ)
                for column in (c.this, c.expression) if isinstance(column, exp.Column) and column.table == alias]
        neighbour, comparison = ASOF_BOUNDS[operator]
        window = exp.Window(this=exp.func(neighbour, key.copy()), partition_by=keys,
                            order=exp.Order(expressions=[exp.Ordered(this=key.copy())]))
        bounded = exp.select("*", exp.alias_(window, ASOF_BOUND)).from_(right.copy())
        bound = exp.column(ASOF_BOUND, table=alias)
        within = exp.or_(exp.Is(this=bound, expression=exp.null()),
                         comparison(this=left_value.copy(), expression=bound.copy()))
        join.replace(exp.Join(this=exp.alias_(bounded.subquery(), alias, table=True),
                              side=join.args.get("side") or "LEFT",
                              on=exp.and_(condition.copy(), exp.paren(within))))
    return tree


def _date_minus_days(tree: exp.Expression) -> exp.Expression:
    """Rule 3: `d - to_days(n)` → `date_sub(d, n)`."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Sub):
            days = node.expression
            if isinstance(days, exp.ToDays) or (isinstance(days, exp.Anonymous) and days.name.lower() == "to_days"):
                count = days.this if isinstance(days, exp.ToDays) else days.expressions[0]
                return exp.func("DATE_SUB", node.this, exp.cast(count.copy(), "INT"))
        return node

    return tree.transform(rewrite)


def _drop_materialized(tree: exp.Expression) -> exp.Expression:
    """Rule 4: `AS MATERIALIZED` is a DuckDB planner hint."""
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)
    return tree


def translate(names: tuple[str, ...], dialect: str = WRITE) -> list[tuple[str, str]]:
    """The views of the SQL files `names` (e.g. "views/outcomes"), in file order, as
    `(view name, query)` in `dialect` (Spark SQL; "duckdb" prints the rewritten queries back as
    DuckDB SQL, which the tests run to show the rules keep the meaning). Macros defined in an
    earlier file are inlined in later ones."""
    macros: dict[str, Macro] = {}
    views: list[tuple[str, str]] = []
    for name in names:
        views += translate_sql(sql.read(name), macros, dialect, where=f"sql/{name}.sql")
    return views


def translate_sql(text: str, macros: dict[str, Macro], dialect: str = WRITE,
                  where: str = "SQL") -> list[tuple[str, str]]:
    """The views of one DuckDB SQL text, rewritten (the rules of the module docstring) and
    printed in `dialect`; the text's macros are added to `macros`."""
    views = []
    for statement in sqlglot.parse(text, read=READ):
        if statement is None:
            continue
        if not isinstance(statement, exp.Create):
            raise ValueError(f"{where}: only CREATE MACRO / CREATE VIEW can be translated, found {statement.key}")
        kind = (statement.args.get("kind") or "").upper()
        if kind == "MACRO":
            signature = statement.this  # UserDefinedFunction: a Table (the name) and the parameters
            macros[signature.this.name.lower()] = Macro(
                tuple(p.name.lower() for p in signature.expressions), statement.expression)
        elif kind == "VIEW":
            query = statement.expression
            for rule in (_drop_materialized, _date_minus_days, _asof_to_range_join):
                query = rule(query)
            query = _inline_macros(query, macros)
            views.append((statement.this.name, query.sql(dialect=dialect, pretty=True)))
        else:
            raise ValueError(f"{where}: CREATE {kind} has no Spark translation")
    return views
