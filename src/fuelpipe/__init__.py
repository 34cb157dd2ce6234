"""fuelpipe: how oil shares, currencies and crude move Brazilian pump prices.

The Python API (:mod:`fuelpipe.api`) loads on first use, so ``import fuelpipe`` stays light:

    import fuelpipe
    fp = fuelpipe.open()          # the store the CLI uses
    fp.series("FUEL#GASOLINE#*")  # a pandas DataFrame (to="polars" for Polars)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Fuelpipe", "Lags", "StoreDamaged", "__version__", "open"]

if TYPE_CHECKING:
    from fuelpipe.api import Fuelpipe, Lags, StoreDamaged, open


def __getattr__(name: str) -> Any:
    """``fuelpipe.open`` / ``Fuelpipe`` / ``Lags`` / ``StoreDamaged`` import the API module
    the first time."""
    if name in ("open", "Fuelpipe", "Lags", "StoreDamaged"):
        from fuelpipe import api

        return getattr(api, name)
    raise AttributeError(f"module 'fuelpipe' has no attribute {name!r}")
