"""The analysis dashboard: pure analysis, a read-only API over the store, and an offline page."""
