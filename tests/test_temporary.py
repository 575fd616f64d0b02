"""Unit tests for rolecall.temporary: refresh windows that scale with the credentials' lifetime, and
when credentials are fresh enough to hand out (at the edges of each window)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rolecall import temporary

HOUR = 3600


@pytest.mark.parametrize(("life", "advisory", "mandatory"), [
    (12 * HOUR, 15 * 60, 10 * 60),  # botocore's windows for long-lived credentials
    (HOUR, 15 * 60, 10 * 60),  # an hour: exactly botocore's
    (900, 225, 150),  # the shortest role: a quarter and a sixth of its life
    (1800, 450, 300),
    (3000, 750, 500),
    (3599, 3599 / 4, 3599 / 6),  # a second short of an hour: both just below their caps
])
def test_windows_are_botocores_capped_at_a_quarter_and_a_sixth_of_the_lifetime(
        life: float, advisory: float, mandatory: float) -> None:
    assert temporary.windows(life) == pytest.approx((advisory, mandatory))


def test_the_mandatory_window_is_always_inside_the_advisory_one() -> None:
    for life in (1, 60, 900, 2400, 3600, 5000, 43200, 129600):
        advisory, mandatory = temporary.windows(life)
        assert 0 < mandatory <= advisory < life


@pytest.mark.parametrize(("remaining", "life", "expected"), [
    (15 * 60 + 1, HOUR, True),  # one second outside the advisory window
    (15 * 60, HOUR, False),  # at its edge: refresh
    (15 * 60 - 1, HOUR, False),
    (226, 900, True),  # a 900-second role: its own, shorter window
    (225, 900, False),
    (0, HOUR, False),
    (-5, HOUR, False),  # expired
])
def test_fresh_at_the_edges_of_the_advisory_window(remaining: float, life: float,
                                                   expected: bool) -> None:
    assert temporary.fresh(remaining, life) is expected


def test_a_caller_that_needs_more_time_gets_it_where_the_lifetime_allows() -> None:
    # 30 minutes left of an hour: fresh for botocore's window, not for a job needing 40 minutes.
    assert temporary.fresh(30 * 60, HOUR)
    assert not temporary.fresh(30 * 60, HOUR, need=40 * 60)
    assert temporary.fresh(40 * 60 + 1, HOUR, need=40 * 60)
    assert not temporary.fresh(40 * 60, HOUR, need=40 * 60)  # the edge itself is not enough


def test_a_need_the_lifetime_cannot_meet_gives_way_to_the_roles_own_window() -> None:
    # A 900-second role can never have 15 minutes left: asking for them must not refresh it on
    # every call. Within a minute of the whole lifetime, the need is ignored.
    assert temporary.fresh(800, 900, need=900)
    assert temporary.fresh(800, 900, need=841)
    assert not temporary.fresh(800, 900, need=839)  # 839 < 900 - 60: a need it can meet
    assert not temporary.fresh(200, 900, need=900)  # inside its own window all the same


@pytest.mark.parametrize("moment", [
    datetime(2026, 1, 31, 12, 0, 0, tzinfo=timezone.utc),
    datetime(2026, 1, 31, 12, 0, 0, 999_999, tzinfo=timezone.utc),  # truncated, never rounded
    datetime(2030, 3, 17, 19, 46, 40, tzinfo=timezone(timedelta(hours=2))),  # told in UTC
    datetime(1000, 1, 1, tzinfo=timezone.utc),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
])
def test_the_timestamp_form_is_iso_8601_utc_to_the_second(moment: datetime) -> None:
    text = temporary.utc_text(moment)
    assert text == moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert temporary.parse_utc_text(text) == moment.replace(microsecond=0)
    assert temporary.utc_text(moment.timestamp()) == text  # seconds since the epoch, the same
