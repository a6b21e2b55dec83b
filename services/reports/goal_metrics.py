"""The metrics a yearly goal can target (the goal table is in services/domain/tables/)."""

from __future__ import annotations

from enum import StrEnum


class GoalMetric(StrEnum):
    impressions = "impressions"
    reach = "reach"
    engagement = "engagement"
    moments = "moments"
    responded_within_1h_rate = "responded_within_1h_rate"
    median_first_response_s = "median_first_response_s"
    social_share = "social_share"
    first_response_sla_met_rate = "first_response_sla_met_rate"
    median_first_response_business_s = "median_first_response_business_s"
    support_savings = "support_savings"
    earned_media_value = "earned_media_value"
    total_value = "total_value"
    net_growth = "net_growth"
    visits = "visits"
    leads = "leads"
    conversions = "conversions"
    revenue = "revenue"
    conversion_rate = "conversion_rate"
    csat = "csat"
    reopen_rate = "reopen_rate"
    share_of_voice = "share_of_voice"


# Counting metrics are paced against the share of the year gone; rates and times are not.
COUNTING = frozenset(
    {
        GoalMetric.impressions,
        GoalMetric.reach,
        GoalMetric.engagement,
        GoalMetric.moments,
        GoalMetric.support_savings,
        GoalMetric.earned_media_value,
        GoalMetric.total_value,
        GoalMetric.net_growth,
        GoalMetric.visits,
        GoalMetric.leads,
        GoalMetric.conversions,
        GoalMetric.revenue,
    }
)
# A time, or the share of conversations reopened: less is better, so its pace is target / actual.
LOWER_IS_BETTER = frozenset(
    {
        GoalMetric.median_first_response_s,
        GoalMetric.median_first_response_business_s,
        GoalMetric.reopen_rate,
    }
)
# Of those, the rates (0..1): their floor is one in a thousand rather than one second.
RATE_FLOOR = {GoalMetric.reopen_rate: 0.001}
