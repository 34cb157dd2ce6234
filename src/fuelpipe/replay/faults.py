"""Seeded fault injection for the replay server.

Grammar of a spec (whitespace is ignored)::

    SPEC    := CLAUSE (";" CLAUSE)*
    CLAUSE  := TARGET ":" ITEM ("," ITEM)*
    TARGET  := "*" | "all"                 every source (the two are synonyms)
             | "bcb" | "yahoo" | "fred" | "anp"
             | a catalog key or key prefix  (absent= only), e.g. STOCK#PETR4, FUEL#GASOLINE
    ITEM    := RATE                        bare number: RATE spread evenly over every kind below
             | "all=" RATE                 the same
             | KIND "=" RATE               one kind, RATE in [0, 1]
             | "absent=" DAYS              dates never served for the target, whatever the request
             | "slow_s=" SECONDS           how long a slow response sleeps (global, default 25)
             | "retry_after=" SECONDS      the Retry-After value of a 429 (global, default 1)
    DAYS    := DAY ("|" DAY)*   with  DAY := YYYY-MM-DD | YYYY-MM-DD..YYYY-MM-DD (inclusive)

    KIND    := 5xx       HTTP 500/502/503/504 with a small HTML body
             | 429       HTTP 429 with a Retry-After header
             | 429bare   HTTP 429 without Retry-After
             | slow      sleep slow_s (past the client's timeout), then answer normally
             | drop      close the connection without any response
             | truncate  a 200 whose body is the first half of the real one (Content-Length fits)
             | html      an HTML maintenance page with status 200
             | shape     a 200 with a wrong-shaped body (renamed fields, ragged arrays, no header)
             | dup       some rows served twice
             | reorder   rows shuffled
             | outside   real rows from outside the requested range added (none are invented)

Clauses apply in order and an item overwrites the rate a previous one set, so
``"all:0.3;anp:html=0"`` is 30% everywhere but no HTML pages from ANP. A source's rates must
add up to at most 1. Examples: ``"all:0.3"``, ``"bcb:5xx=0.1,429=0.05;yahoo:slow=0.1,slow_s=3"``,
``"*:absent=2021-06-01..2021-06-03;STOCK#PETR4:absent=2021-07-01"``.

Each request gets one draw from ``random.Random(f"{seed}/{source}/{seq}")`` where ``seq`` counts
that source's requests from 1, so a run repeats exactly with the same seed and request order.
Row faults that cannot apply (a reorder of one row, ``outside`` on a whole workbook) are skipped
and not counted. ``FaultPlan.load`` reads the same plan from TOML or JSON (see its docstring).
"""

from __future__ import annotations

import json
import random
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

SOURCES = ("bcb", "yahoo", "fred", "anp")
_EVERY = ("*", "all")
DEFAULT_SLOW_S = 25.0
DEFAULT_RETRY_AFTER_S = 1


class FaultKind(StrEnum):
    """One way a response goes wrong; the order is the order of the decision intervals."""

    SERVER_ERROR = "5xx"
    RATE_LIMITED = "429"
    RATE_LIMITED_BARE = "429bare"
    SLOW = "slow"
    DROP = "drop"
    TRUNCATE = "truncate"
    HTML = "html"
    SHAPE = "shape"
    DUP = "dup"
    REORDER = "reorder"
    OUTSIDE = "outside"


ROW_KINDS = frozenset({FaultKind.SHAPE, FaultKind.DUP, FaultKind.REORDER, FaultKind.OUTSIDE})
"""Kinds applied by each source's renderer, on the rows it serves."""


class FaultSpecError(ValueError):
    """A fault spec or file that does not follow the grammar."""


@dataclass(frozen=True)
class DateSet:
    """Inclusive date ranges."""

    ranges: tuple[tuple[date, date], ...] = ()

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and any(a <= day <= b for a, b in self.ranges)

    def __or__(self, other: DateSet) -> DateSet:
        return DateSet(self.ranges + other.ranges)

    def days(self) -> list[date]:
        """Every date in the set, sorted."""
        out = {a + timedelta(days=i) for a, b in self.ranges for i in range((b - a).days + 1)}
        return sorted(out)

    @classmethod
    def parse(cls, text: str) -> DateSet:
        """``2021-06-01..2021-06-03|2021-07-01`` (also accepts a list of such strings)."""
        ranges = []
        for part in filter(None, (p.strip() for p in text.split("|"))):
            lo, _, hi = part.partition("..")
            try:
                a = date.fromisoformat(lo.strip())
                b = date.fromisoformat(hi.strip()) if hi else a
            except ValueError:
                raise FaultSpecError(
                    f"bad date or range {part!r}: use YYYY-MM-DD[..YYYY-MM-DD]"
                ) from None
            if b < a:
                raise FaultSpecError(f"range {part!r} ends before it starts")
            ranges.append((a, b))
        return cls(tuple(ranges))


@dataclass(frozen=True)
class Decision:
    """What the plan decided for one request, and the random stream for its details."""

    source: str
    seq: int
    kind: FaultKind | None
    rng: random.Random = field(compare=False, repr=False)


def _rate(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{where}: {text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{where}: rate {value} is outside [0, 1]")
    return value


def _kind(name: str) -> FaultKind:
    try:
        return FaultKind(name.lower())
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise FaultSpecError(f"unknown fault kind {name!r}; kinds: {kinds}, all") from None


def _decode(path: Path, data: bytes) -> object:
    """The parsed document of a plan file, by its suffix; a parse error says where."""
    try:
        text = data.decode("utf-8")
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except UnicodeDecodeError:
        raise FaultSpecError("not UTF-8 text") from None
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise FaultSpecError(f"not valid {kind}: {exc}") from None


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FaultSpecError(f"{where} must be a table of names, got {type(value).__name__}")
    return value


def _days(value: object, where: str) -> list[str]:
    """``absent`` as DAYS strings: one, or a list of them (TOML's bare dates count)."""
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | date) for v in values):
        raise FaultSpecError(f"{where} must be a date string or a list of them, got {value!r}")
    return [str(v) for v in values]


class _Builder:
    """Accumulates rates and absent dates while a spec or file is read."""

    def __init__(self) -> None:
        self.rates: dict[str, dict[FaultKind, float]] = {s: {} for s in SOURCES}
        self.absent: dict[str, DateSet] = {}
        self.slow_s = DEFAULT_SLOW_S
        self.retry_after_s = DEFAULT_RETRY_AFTER_S

    def sources(self, target: str) -> tuple[str, ...]:
        if target in _EVERY:
            return SOURCES
        if target in SOURCES:
            return (target,)
        raise FaultSpecError(
            f"rates need a source target (*, all, {', '.join(SOURCES)}), got {target!r}"
        )

    def set_rate(self, target: str, kind: str, value: float) -> None:
        kinds = list(FaultKind) if kind.lower() == "all" else [_kind(kind)]
        for source in self.sources(target):
            for k in kinds:
                self.rates[source][k] = value / len(kinds)

    def add_absent(self, target: str, days: DateSet) -> None:
        key = "*" if target in _EVERY else target
        if not (key == "*" or key in SOURCES or re.fullmatch(r"[A-Z_]+(#[A-Z0-9_=.\-]+)*", key)):
            raise FaultSpecError(f"absent target {target!r} is not *, a source or a catalog key")
        self.absent[key] = self.absent.get(key, DateSet()) | days

    def option(self, name: str, value: str) -> None:
        try:
            number = float(value)
        except ValueError:
            raise FaultSpecError(f"{name}={value!r} is not a number") from None
        if number < 0:
            raise FaultSpecError(f"{name} must be >= 0")
        if name == "slow_s":
            self.slow_s = number
        else:
            self.retry_after_s = round(number)

    def item(self, target: str, item: str) -> None:
        name, eq, value = item.partition("=")
        if not eq:
            self.set_rate(target, "all", _rate(name, f"{target}:{item}"))
        elif name.lower() == "absent":
            self.add_absent(target, DateSet.parse(value))
        elif name.lower() in ("slow_s", "retry_after"):
            self.option(name.lower(), value)
        else:
            self.set_rate(target, name, _rate(value, f"{target}:{item}"))

    def spec(self, spec: str) -> None:
        for clause in filter(None, (c.strip() for c in spec.replace(" ", "").split(";"))):
            target, colon, items = clause.partition(":")
            if not colon or not target or not items:
                raise FaultSpecError(f"clause {clause!r} is not TARGET:ITEM[,ITEM...]")
            for item in items.split(","):
                self.item(target, item)

    def plan(self, seed: int, spec: str) -> FaultPlan:
        for source, rates in self.rates.items():
            total = sum(rates.values())
            if total > 1.0 + 1e-9:
                raise FaultSpecError(f"{source}: fault rates add up to {total:.3f} > 1")
        return FaultPlan(self.rates, self.absent, seed, self.slow_s, self.retry_after_s, spec)


class FaultPlan:
    """Per-source fault rates and absent dates, with seeded per-request decisions."""

    def __init__(
        self,
        rates: Mapping[str, Mapping[FaultKind, float]] | None = None,
        absent: Mapping[str, DateSet] | None = None,
        seed: int = 0,
        slow_s: float = DEFAULT_SLOW_S,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        spec: str = "",
    ) -> None:
        self.rates = {s: {k: v for k, v in (rates or {}).get(s, {}).items() if v} for s in SOURCES}
        self.absent = dict(absent or {})
        self.seed = seed
        self.slow_s = slow_s
        self.retry_after_s = retry_after_s
        self.spec = spec
        self._lock = threading.Lock()
        self._injected: dict[str, int] = {}

    @classmethod
    def none(cls) -> FaultPlan:
        """A plan that injects nothing."""
        return cls()

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        """Read a spec string (grammar in the module docstring)."""
        builder = _Builder()
        builder.spec(spec)
        return builder.plan(seed, spec)

    @classmethod
    def load(cls, path: Path | str, seed: int | None = None) -> FaultPlan:
        """Read a TOML or JSON file.

        Layout: optional ``seed``, ``slow_s``, ``retry_after``, ``spec`` (a spec string applied
        first), and a ``targets`` table: ``[targets.bcb]`` with ``5xx = 0.1``, ``all = 0.3``,
        ``absent = ["2021-06-01..2021-06-03"]``. ``seed`` given here overrides the file's.
        A file that does not parse or has a field of the wrong type raises FaultSpecError
        naming the file, as a bad spec does; OSError (unreadable file) passes through.
        """
        path = Path(path)
        data = path.read_bytes()
        try:
            doc = _table(_decode(path, data), "the top level")
            builder = _Builder()
            spec = doc.get("spec", "")
            if not isinstance(spec, str):
                raise FaultSpecError(f"spec must be a string, got {spec!r}")
            builder.spec(spec)
            for name in ("slow_s", "retry_after"):
                if name in doc:
                    builder.option(name, str(doc[name]))
            for target, entries in _table(doc.get("targets", {}), "targets").items():
                for name, value in _table(entries, f"targets.{target}").items():
                    where = f"targets.{target}.{name}"
                    if name == "absent":
                        builder.add_absent(target, DateSet.parse("|".join(_days(value, where))))
                    else:
                        builder.set_rate(target, name, _rate(str(value), where))
            file_seed = doc.get("seed", 0)
            if not isinstance(file_seed, int) or isinstance(file_seed, bool):
                raise FaultSpecError(f"seed must be a whole number, got {file_seed!r}")
            return builder.plan(file_seed if seed is None else seed, spec or str(path))
        except FaultSpecError as exc:
            raise FaultSpecError(f"fault plan file {path}: {exc}") from None

    @classmethod
    def from_arg(cls, value: str, seed: int | None = None) -> FaultPlan:
        """A spec string, or the path of a ``.toml``/``.json`` plan file.

        ``seed`` None leaves a file its own seed (0 for a spec string or a file without one).
        """
        if value.endswith((".toml", ".json")):
            if not Path(value).is_file():
                raise FaultSpecError(f"fault plan file {value} does not exist")
            return cls.load(value, seed)
        return cls.parse(value, seed or 0)

    def rate(self, source: str, kind: FaultKind) -> float:
        """The probability that one request to ``source`` gets ``kind``."""
        return self.rates.get(source, {}).get(kind, 0.0)

    def decide(self, source: str, seq: int) -> Decision:
        """The fault (or None) for the ``seq``-th request to ``source``: pure and repeatable."""
        rng = random.Random(f"{self.seed}/{source}/{seq}")
        draw = rng.random()
        edge = 0.0
        for kind in FaultKind:
            edge += self.rate(source, kind)
            if draw < edge:
                return Decision(source, seq, kind, rng)
        return Decision(source, seq, None, rng)

    def absent_days(self, source: str, key: str | None, schedule: str | None = None) -> DateSet:
        """Dates never to serve for a series (``key``) of ``source``. ``schedule``: the
        publication schedule the route's rows follow (a workbook's), for a plan that withholds
        what is not released yet (``replay.live.PublishedPlan``); unused here."""
        out = DateSet()
        for target, days in self.absent.items():
            if target in ("*", source) or (
                key is not None and (key == target or key.startswith(target + "#"))
            ):
                out = out | days
        return out

    def intraday_released(self, source: str, key: str | None, at: datetime) -> bool:
        """Whether an intraday value of ``at`` (a bulletin) is served: when its day is."""
        return at.date() not in self.absent_days(source, key)

    @property
    def has_absent(self) -> bool:
        """True when some dates are withheld."""
        return bool(self.absent)

    def cache_tag(self, source: str) -> str:
        """Part of the key of cached rendered bodies; changes when what is withheld changes."""
        return ""

    def for_request(self) -> FaultPlan:
        """The plan one request renders with: this one, as nothing here moves with time."""
        return self

    def record(self, kind: FaultKind) -> None:
        """Count one injected fault (thread-safe)."""
        with self._lock:
            self._injected[kind.value] = self._injected.get(kind.value, 0) + 1

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        with self._lock:
            return dict(self._injected)

    def describe(self) -> str:
        """A one-line summary for logs."""
        parts = [
            f"{s}:" + ",".join(f"{k.value}={v:.3g}" for k, v in r.items())
            for s, r in self.rates.items()
            if r
        ]
        parts += [f"{t}:absent={len(d.days())}d" for t, d in self.absent.items()]
        return f"seed={self.seed} " + ("; ".join(parts) or "no faults")
