"""The outlook on the real history: no look-ahead, scoring on publication, honest baselines."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from fuelpipe.adapters.history_files import (
    ANP_BRAZIL,
    BRENT_FUTURES_KEY,
    BRENT_KEY,
    USD_KEY,
)
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.backtest import score, walk_forward
from fuelpipe.outlook.model import nowcast
from fuelpipe.outlook.records import from_record
from fuelpipe.outlook.series import Lags, inputs_for
from fuelpipe.stages.outlook import refresh_outlook
from fuelpipe.stages.outlook_rules import OutlookMove, OutsideInterval

from .conftest import DATASETS, known_then

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
KEYS = (GASOLINE, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY)


def _inputs(history, key=GASOLINE):
    return inputs_for(
        history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )


def _store(tmp_path, history, as_of=None, name="store.sqlite"):
    """A real SQLite store with the real history, only what was known at as_of when given."""
    store = SqliteStore(tmp_path / name)
    for key in KEYS:
        store.put_records(
            [
                Record(key, day, Decimal(str(value)), Status.OK)
                for day, value in history.series[key]
                if as_of is None or known_then(key, day, as_of)
            ]
        )
    return store


class _Ctx:
    def __init__(self, store, now):
        self.store, self.now, self.catalog = store, now, DEFAULT_CATALOG


def test_a_forecast_from_a_store_truncated_at_its_as_of_is_identical(tmp_path, history):
    as_of = datetime(2022, 3, 16, 15, 0, tzinfo=SP)  # mid-week, after a big Petrobras hike
    full = _store(tmp_path, history, name="full.sqlite")
    cut = _store(tmp_path, history, as_of=as_of, name="cut.sqlite")
    assert len(full.query(GASOLINE)) > len(cut.query(GASOLINE))  # the full store knows more
    refresh_outlook(full, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
    refresh_outlook(cut, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
    made_full = full.query(outlook_key("GASOLINE", "BR"))
    made_cut = cut.query(outlook_key("GASOLINE", "BR"))
    assert len(made_full) == len(made_cut) == 1
    assert made_full[0].attrs == made_cut[0].attrs
    assert made_full[0].value == made_cut[0].value
    forecast = from_record(made_full[0]).forecast
    assert forecast.last_week == date(2022, 3, 6)  # the week published by that Wednesday
    assert forecast.steps[0].week == date(2022, 3, 13)
    assert all(s.lo95 < s.lo80 < s.point < s.hi80 < s.hi95 for s in forecast.steps)
    full.close()
    cut.close()


def test_walk_forward_forecasts_equal_nowcasts_on_truncated_inputs(history):
    inputs = _inputs(history)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    forecasts, _ = walk_forward(inputs, date(2020, 3, 1), date(2020, 5, 1), lags)
    assert forecasts
    for made in forecasts[::3]:
        again = nowcast(inputs, made.as_of, lags)
        assert again == made


def test_stored_forecasts_are_scored_when_anp_publishes(tmp_path, history):
    as_of = datetime(2022, 3, 16, 15, 0, tzinfo=SP)
    store = _store(tmp_path, history, as_of=as_of)
    report = refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
    assert report.made == 1
    again = refresh_outlook(store, DEFAULT_CATALOG, as_of + timedelta(hours=1), keys=[GASOLINE])
    assert (again.made, again.unchanged, again.scored) == (0, 1, 0)  # nothing new: no rewrite
    key = outlook_key("GASOLINE", "BR")
    assert from_record(store.query(key)[0]).actuals == {}
    # ANP publishes the survey week in progress (2022-03-13) and the next one.
    published = dict(history.series[GASOLINE])
    later = [(d, published[d]) for d in (date(2022, 3, 13), date(2022, 3, 20))]
    store.put_records([Record(GASOLINE, d, Decimal(str(v)), Status.OK) for d, v in later])
    now = datetime(2022, 3, 27, 12, 0, tzinfo=SP)
    scored = refresh_outlook(store, DEFAULT_CATALOG, now, keys=[GASOLINE])
    assert scored.scored == 2
    first = from_record(store.query(key)[0])
    assert first.actuals == {1: pytest.approx(later[0][1]), 2: pytest.approx(later[1][1])}
    assert [s.horizon for s in first.unscored()] == [3, 4, 5]
    assert scored.made == 1  # a new survey week is a new input: a new forecast for that day
    # The miss rule judges each published week against its forecast's 95% interval.
    step = first.forecast.steps[0]
    missed = OutsideInterval(days=30).evaluate(_Ctx(store, now))
    outside = not step.lo95 <= later[0][1] <= step.hi95
    assert any(c.subject == f"{GASOLINE}@2022-03-13" for c in missed) == outside
    store.close()


def test_move_rule_fires_beyond_its_threshold(tmp_path, history):
    as_of = datetime(2022, 3, 16, 15, 0, tzinfo=SP)
    store = _store(tmp_path, history, as_of=as_of)
    refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
    fc = from_record(store.query(outlook_key("GASOLINE", "BR"))[0]).forecast
    change = abs(fc.steps[1].point / fc.last_price - 1)
    below = OutlookMove(threshold=change * 0.9).evaluate(_Ctx(store, as_of))
    above = OutlookMove(threshold=change * 1.1).evaluate(_Ctx(store, as_of))
    assert [c.evidence["key"] for c in below] == [GASOLINE]
    assert above == []
    store.close()


@pytest.mark.parametrize(
    ("product", "label"), [("GASOLINE", "GASOLINA COMUM"), ("DIESEL_S10", "OLEO DIESEL S10")]
)
def test_backtest_no_change_mae_equals_a_direct_pandas_computation(history, product, label):
    start = date(2016, 10, 1)
    _, scored = walk_forward(_inputs(history, f"FUEL#{product}#BR"), start)
    frame = pd.read_excel(DATASETS / ANP_BRAZIL, header=17)
    frame = frame[frame["PRODUTO"].str.strip() == label].copy()
    frame["week"] = pd.to_datetime(frame["DATA INICIAL"]).dt.date
    frame["price"] = pd.to_numeric(frame["PREÇO MÉDIO REVENDA"], errors="coerce")
    frame = frame.dropna(subset=["price"]).sort_values("week").reset_index(drop=True)
    price = frame.set_index("week")["price"]
    for s in score(scored):
        # h weeks on the calendar: a week whose week h weeks earlier the survey skipped (its
        # 2020 pause) is not scored, rather than compared with the last week before the pause.
        earlier = price.reindex([w - timedelta(weeks=s.horizon) for w in price.index]).to_numpy()
        change = (price - earlier).abs().dropna()
        direct = change[change.index >= start]
        assert s.n == len(direct)
        assert s.naive_mae == pytest.approx(direct.mean(), rel=1e-9)


def test_the_model_beats_no_change_on_average_at_one_week(history):
    ratios = []
    for product in ("GASOLINE", "ETHANOL", "DIESEL_S10"):
        inputs = _inputs(history, f"FUEL#{product}#BR")
        _, scored = walk_forward(inputs, date(2016, 10, 1), lags=Lags.from_catalog(DEFAULT_CATALOG))
        one = score(scored, (1,))[0]
        ratios.append(one.ratio)
        assert abs(one.coverage80 - 0.80) <= 0.05
        assert abs(one.coverage95 - 0.95) <= 0.05
    assert sum(ratios) / 3 <= 0.90


def test_lags_come_from_the_catalog():
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    assert lags.fuel == DEFAULT_CATALOG[GASOLINE].available_after
    assert lags.usd == DEFAULT_CATALOG[USD_KEY].available_after
    assert lags.brent == DEFAULT_CATALOG[BRENT_KEY].available_after
    assert lags.futures == DEFAULT_CATALOG[BRENT_FUTURES_KEY].available_after


def test_a_malformed_stored_forecast_is_skipped_with_one_line_and_the_rest_goes_on(
    tmp_path, history, caplog
):
    as_of = datetime(2022, 3, 16, 15, 0, tzinfo=SP)
    store = _store(tmp_path, history, as_of=as_of)
    key = outlook_key("GASOLINE", "BR")
    bad = Record(
        key, date(2022, 3, 10), Decimal("6.5"), Status.OK, attrs={"horizons": 1, "w1": "soon"}
    )
    store.put_records([bad])
    report = refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=[GASOLINE])
    assert report.made == 1 and report.problems == []
    warnings = [r.getMessage() for r in caplog.records if "record skipped" in r.getMessage()]
    assert len(warnings) == 1 and "OUTLOOK#GASOLINE#BR 2022-03-10" in warnings[0]
    assert [r.date for r in store.query(key)] == [date(2022, 3, 10), date(2022, 3, 16)]
    store.close()


def test_outlook_keys_parse_like_every_other_key():
    from fuelpipe.domain.keys import Kind, parse_key

    parsed = parse_key(outlook_key("DIESEL_S10", "REGION_NE"))
    assert (parsed.kind, parsed.parts) == (Kind.OUTLOOK, ("DIESEL_S10", "REGION_NE"))
    assert str(parsed) == "OUTLOOK#DIESEL_S10#REGION_NE"
