"""The ``format`` query parameter every view shares (apart from params.py, which the Python
API's imports reach: this one imports FastAPI)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from fuelpipe.dashboard.params import any_case

Format = Literal["json", "csv"]
FormatQ = Annotated[
    Format,
    any_case(Format),
    Query(
        description="`csv` downloads the view as a CSV file: UTF-8 without a byte-order mark, "
        "comma-separated, a point for decimals (docs/DASHBOARD.md says why, and how Excel "
        "opens it); case-insensitive"
    ),
]
