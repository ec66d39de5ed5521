"""Numbers the same on every page and document."""

from __future__ import annotations


def test_attendance_percent_is_rounded_down_the_same_everywhere():
    from app.i18n import format_attendance

    assert format_attendance(79.96, "sv") == "79,9\xa0%"  # never 80 % next to a minimum of 80 %
    assert format_attendance(80, "sv") == "80,0\xa0%"
    assert format_attendance(79.96, "en") == "79.9%"
