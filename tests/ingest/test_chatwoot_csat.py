"""Chatwoot CSAT answers (message_updated, content_type input_csat) -> `rating` events, with the
survey message shaped as Chatwoot sends it (tests/ingest/samples/webhooks/chatwoot/)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.ingest.events import Rejection, validate
from services.ingest.platforms import chatwoot
from tests.support.platforms import sample

DELIVERED = "1772450000"  # X-Chatwoot-Timestamp: when the answer was sent on


def survey(**answer: Any) -> dict[str, Any]:
    payload = copy.deepcopy(sample("chatwoot/message_updated_input_csat.json"))
    submitted = payload["content_attributes"]["submitted_values"]
    submitted["csat_survey_response"] = answer
    return payload  # type: ignore[no-any-return]


def test_an_answer_is_a_rating_on_the_conversation_of_its_messages() -> None:
    mapped = chatwoot.mapped(sample("chatwoot/message_updated_input_csat.json"),
                                delivered_at=DELIVERED)  # fmt: skip
    [rating] = mapped.events
    assert rating == {
        "event_id": "chatwoot:csat:1:321",
        "occurred_at": "2026-03-02T11:13:20+00:00",  # the delivery: 1772450000
        "network": "email",
        "kind": "rating",
        "count": 5,
        "account": "chatwoot-inbox-5",
        "conversation_id": "chatwoot:1:321",  # as message_created names it
        "attributes": {"comment": "Quick, thanks"},
    }
    assert not isinstance(validate(rating), Rejection)
    incoming = chatwoot.mapped(sample("chatwoot/message_created_incoming.json")).events[0]
    assert incoming["conversation_id"] == rating["conversation_id"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({}, "skipped", id="survey-sent-not-answered"),
        pytest.param({"rating": 3}, 3, id="no-comment"),
        pytest.param({"rating": "2", "feedback_message": "  "}, 2, id="rating-as-text"),
        pytest.param({"rating": "five"}, "unmappable", id="not-a-number"),
    ],
)
def test_answers_in_every_shape(answer: dict[str, Any], expected: object) -> None:
    mapped = chatwoot.mapped(survey(**answer), delivered_at=DELIVERED)
    if expected == "skipped":
        assert (mapped.events, mapped.skipped) == ([], 1)
    elif expected == "unmappable":
        assert mapped.events == [] and "rating" in mapped.unmappable[0][0]
    else:
        assert [(e["count"], "attributes" in e) for e in mapped.events] == [(expected, False)]


def test_an_out_of_scale_rating_is_refused_naming_count() -> None:
    [event] = chatwoot.mapped(survey(rating=7), delivered_at=DELIVERED).events
    result = validate(event)
    assert isinstance(result, Rejection) and result.reason == "count"


def test_a_long_feedback_is_cut_to_the_longest_attribute() -> None:
    [event] = chatwoot.mapped(survey(rating=1, feedback_message="x" * 5000)).events
    assert len(event["attributes"]["comment"]) == 1000
    assert not isinstance(validate(event), Rejection)


def test_other_message_updates_are_skipped() -> None:
    edited = {**sample("chatwoot/message_created_incoming.json"), "event": "message_updated"}
    assert chatwoot.mapped(edited).skipped == 1
