"""Days typed into forms, API bodies and CLI options."""

from __future__ import annotations

import datetime as dt

import pytest

from certmgr.controller.domain.values import parse_day
from certmgr.shared.errors import ValidationError


def test_a_day_is_midnight_utc() -> None:
    assert parse_day(" 2026-11-27 ", field="since") == dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    assert parse_day("", field="since") is None


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-02-30", "9999-12-31", "2026-1-1", "+2026-01-01", "2026-11-27x"]
)
def test_not_a_day(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_day(value, field="order_date", label="Order date")
    assert err.value.field == "order_date"
    assert str(err.value).startswith("Order date must be a day written like 2026-11-27")
