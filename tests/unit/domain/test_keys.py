from datetime import date

import pytest

from fuelpipe.domain.keys import (
    InvalidKeyError,
    Kind,
    build_key,
    commodity_key,
    currency_key,
    date_key,
    fuel_key,
    parse_date_key,
    parse_key,
    stock_key,
)


def test_builders_follow_the_key_design():
    assert currency_key("USD") == "CURRENCY#USD"
    assert stock_key("PETR4") == "STOCK#PETR4"
    assert commodity_key("BRENT") == "COMMODITY#BRENT"
    assert fuel_key("GASOLINE", "SP") == "FUEL#GASOLINE#SP"
    assert fuel_key("LPG", "SP", monthly=True) == "FUEL_MONTHLY#LPG#SP"


@pytest.mark.parametrize(
    "key", ["CURRENCY#USD", "FUEL#DIESEL_S10#REGION_NE", "COMMODITY#BRENT_FUTURES"]
)
def test_parse_round_trips(key):
    parsed = parse_key(key)
    assert str(parsed) == key
    assert parsed.kind in Kind


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("MONEY#USD", "unknown key kind"),
        ("FUEL#GASOLINE", "2 part"),
        ("CURRENCY#usd", "invalid key part"),
        ("CURRENCY#", "invalid key part"),
        ("STOCK#PETR4#X", "1 part"),
    ],
)
def test_parse_rejects_malformed_keys(key, message):
    with pytest.raises(InvalidKeyError, match=message):
        parse_key(key)


def test_build_needs_parts():
    with pytest.raises(InvalidKeyError):
        build_key(Kind.STOCK)


def test_sort_key_is_strict_iso():
    assert date_key(date(2022, 1, 3)) == "2022-01-03"
    assert parse_date_key("2022-01-03") == date(2022, 1, 3)
    for bad in ("2022-1-3", "03/01/2022", "2022-02-30", "20220103"):
        with pytest.raises(InvalidKeyError):
            parse_date_key(bad)
