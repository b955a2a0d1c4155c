"""Durations the transcripts move the fake clock by."""

from __future__ import annotations

from datetime import timedelta

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
