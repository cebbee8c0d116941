"""The outcome definitions on Apache Spark SQL, for a network of clinics that outgrows one
machine (docs/scaling.md, "On Spark").

`translate` turns the view files of `pipelines/sql/views/` into Spark SQL with sqlglot (never a
second hand-written copy), `engine` registers the partitioned Parquet lake (or pooled
de-identified extracts, one folder per clinic) and the reference tables and writes the outputs,
`command` is `outcomes spark`. pyspark is the optional extra `spark` and needs Java 17; it is
imported only when a Spark session starts.
"""
