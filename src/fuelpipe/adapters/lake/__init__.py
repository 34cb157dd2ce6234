"""The station-level lake: ANP station files → Parquet partitioned by product and month.

DuckDB does the work (the ``lake`` extra); it is imported lazily so nothing that does not use
the lake (the Lambdas, the weekly pipeline) needs it.
"""
