"""The outcome view files, translated mechanically from DuckDB SQL to Spark SQL.

The definitions are written once, in `pipelines/sql/views/*.sql` (DuckDB). This module never
holds a second copy: it parses each file with sqlglot (`read="duckdb"`), applies the few
rewrite rules below to the syntax tree, and prints Spark SQL (`write="spark"`). sqlglot itself
translates the rest (`arg_max`/`arg_min` → `max_by`/`min_by`, struct literals, `QUALIFY` → a
subquery on `row_number()`, `x::DATE` → `CAST`, `date_diff('day', a, b)` → `DATEDIFF(DAY, a, b)`,
NULL ordering made explicit, ...).

Rewrite rules (DuckDB constructs sqlglot does not carry over to Spark):

1. **Macros are inlined.** `CREATE MACRO judge_outcome(...) AS {...}` (views/outcome_flags.sql)
   has no Spark SQL counterpart (no SQL UDFs in open-source Spark); every call
   `judge_outcome(a, b, ...)` in a later file is replaced by the macro's body with each
   parameter replaced by its argument (in parentheses). The body is the struct of the six
   flags, so `flags.response` reads the same field on both engines.
2. **`ASOF LEFT JOIN` becomes a lateral join.** `L ASOF LEFT JOIN R AS r ON <equalities> AND
   l.t > r.u` (views/outcomes.sql, `scores`: the latest infusion started before each score)
   becomes `L LEFT JOIN LATERAL (SELECT * FROM R AS r WHERE <the same condition> ORDER BY r.u
   DESC LIMIT 1) AS r ON TRUE`: the one row of R with the greatest `u` meeting the condition,
   which is DuckDB's definition of the ASOF match (`<`/`<=` pick the smallest `u` instead).
3. **`d - to_days(n)` becomes `date_sub(d, CAST(n AS INT))`** (views/outcomes.sql, the baseline
   window): DuckDB's day interval from a number of days (an INTEGER there too); Spark subtracts
   days from a date directly, and wants them as INT (the setting is a BIGINT column).
4. **`WITH x AS MATERIALIZED (...)` loses the hint** (views/scores_by_infusion.sql): a planner
   hint in DuckDB, not Spark syntax; the meaning is the same without it.
5. **`CREATE OR REPLACE VIEW name AS query` gives `(name, query)`**: the caller registers each
   query as a Spark temporary view (`createOrReplaceTempView`), so nothing needs a metastore.

Types: Spark reads the lake's `TIMESTAMP` columns (clinic local time, no zone) as
`TIMESTAMP_NTZ`, so no clinical window shifts with the session's time zone. `100.0 * x / y` is
a DECIMAL in Spark (a DOUBLE in DuckDB); `pipelines.spark.run` writes such columns as DOUBLE.
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


def _asof_to_lateral(tree: exp.Expression) -> exp.Expression:
    """Rule 2: `ASOF LEFT JOIN R AS r ON ...` → `LEFT JOIN LATERAL (... ORDER BY r.u LIMIT 1) AS r ON TRUE`."""
    for join in list(tree.find_all(exp.Join)):
        if (join.args.get("method") or "").upper() != "ASOF":
            continue
        right = join.this
        alias = right.alias_or_name
        condition = join.args["on"]
        inequalities = [c for c in condition.flatten() if isinstance(c, (exp.GT, exp.GTE, exp.LT, exp.LTE))]
        if len(inequalities) != 1:
            raise ValueError(f"ASOF join on {alias}: expected one inequality, found {len(inequalities)}")
        inequality = inequalities[0]
        # Which side of the inequality is the right table's column decides the direction.
        if isinstance(inequality.expression, exp.Column) and inequality.expression.table == alias:
            key, descending = inequality.expression, isinstance(inequality, LATEST_FIRST)
        elif isinstance(inequality.this, exp.Column) and inequality.this.table == alias:
            key, descending = inequality.this, not isinstance(inequality, LATEST_FIRST)
        else:
            raise ValueError(f"ASOF join on {alias}: the inequality names no column of {alias}")
        latest = (exp.select("*").from_(right.copy()).where(condition.copy())
                  .order_by(exp.Ordered(this=key.copy(), desc=descending)).limit(1))
        lateral = exp.Lateral(this=latest.subquery(), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        join.replace(exp.Join(this=lateral, side=join.args.get("side") or "LEFT", on=exp.true()))
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


def translate(names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The views of the SQL files `names` (e.g. "views/outcomes"), in file order, as
    `(view name, Spark SQL query)`. Macros defined in an earlier file are inlined in later ones."""
    macros: dict[str, Macro] = {}
    views: list[tuple[str, str]] = []
    for name in names:
        for statement in sqlglot.parse(sql.read(name), read=READ):
            if statement is None:
                continue
            if not isinstance(statement, exp.Create):
                raise ValueError(f"sql/{name}.sql: only CREATE MACRO / CREATE VIEW can be translated, "
                                 f"found {statement.key}")
            kind = (statement.args.get("kind") or "").upper()
            if kind == "MACRO":
                signature = statement.this  # UserDefinedFunction: a Table (the name) and the parameters
                macros[signature.this.name.lower()] = Macro(
                    tuple(p.name.lower() for p in signature.expressions), statement.expression)
            elif kind == "VIEW":
                query = statement.expression
                for rule in (_drop_materialized, _date_minus_days, _asof_to_lateral):
                    query = rule(query)
                query = _inline_macros(query, macros)
                views.append((statement.this.name, query.sql(dialect=WRITE, pretty=True)))
            else:
                raise ValueError(f"sql/{name}.sql: CREATE {kind} has no Spark translation")
    return views
