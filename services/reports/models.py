"""Yearly goals: one target per (year, metric)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class GoalMetric(StrEnum):
    impressions = "impressions"
    reach = "reach"
    engagement = "engagement"
    moments = "moments"
    responded_within_1h_rate = "responded_within_1h_rate"
    median_first_response_s = "median_first_response_s"
    social_share = "social_share"


COUNTING = frozenset(
    {GoalMetric.impressions, GoalMetric.reach, GoalMetric.engagement, GoalMetric.moments}
)


class Goal(SQLModel, table=True):
    __tablename__ = "goal"

    year: int = Field(primary_key=True)
    metric: str = Field(primary_key=True, max_length=40)
    target: float
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = Field(sa_type=DateTime)
