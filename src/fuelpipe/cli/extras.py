"""Optional extras: which commands need them and the one line that says how to get them.

``pipx install .`` gives the pipeline and this CLI; the dashboard's libraries (FastAPI,
uvicorn, NumPy, cachetools) come with the ``dashboard`` extra (the command to add it:
``fuelpipe.install_hint``). Checked with
``importlib.util.find_spec``, so asking never imports them. The extra also brings Plotly for the
notebook's figures (docs/notebook.ipynb), but the dashboard does not need it: its page loads the
committed partial plotly.js bundle, so a missing ``plotly`` does not stop ``fuelpipe dashboard``.
"""

from __future__ import annotations

from importlib.util import find_spec

from fuelpipe.install_hint import install_hint

DASHBOARD_MODULES = ("fastapi", "uvicorn", "numpy", "cachetools")


def missing_dashboard_modules() -> list[str]:
    """The dashboard extra's top-level modules that are not installed, in a stable order."""
    return [name for name in DASHBOARD_MODULES if find_spec(name) is None]


def dashboard_hint(what: str) -> str | None:
    """One line naming the install command when the dashboard extra is missing, else None."""
    missing = missing_dashboard_modules()
    if not missing:
        return None
    hint = install_hint("dashboard")
    return f"{what} needs the dashboard extra ({', '.join(missing)} missing): {hint}"


def outlook_model_missing() -> bool:
    """True when NumPy, the outlook model's one dependency (the dashboard extra), is not
    installed: a cycle then stores no forecast (``stages.outlook.after_cycle``)."""
    return find_spec("numpy") is None


def demo_no_outlook() -> str:
    """The demo's line when its cycles could not nowcast (plain text: printed with markup off)."""
    return (
        "outlook: skipped, NumPy is not installed, so the store has no forecast "
        f"({install_hint('dashboard')}, then `fuelpipe demo` again makes it)"
    )
