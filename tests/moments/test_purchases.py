"""A moment's page lists the purchases its people made within 90 days of it (both databases)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.ingest.sink import write_batch
from services.moments import service
from services.moments.models import MomentCreate
from tests.factories import batch, event
from tests.factories_moments import moment


def test_a_moments_page_lists_its_peoples_purchases_within_90_days(
    manager: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        created = service.create(
            session,
            data=MomentCreate.model_validate(
                moment(occurred_on="2026-03-01", people=["@Ana", "bo@example.com"])
            ),
            actor="maria",
        )

    def sale(event_id: str, at: str, actor: str, **more: object) -> dict[str, object]:
        return event(
            event_id=event_id,
            kind="conversion",
            network="instagram",
            occurred_at=at,
            actor=actor,
            value="49.9",
            currency="EUR",
            **more,
        )

    write_batch(
        engine,
        [
            batch(
                sale("first", "2026-03-05T10:00:00Z", "ana", attributes={"order_name": "#1042"}),
                sale("by-mail", "2026-03-02T10:00:00Z", "BO@example.com"),
                sale("day-90", "2026-05-30T23:00:00Z", "@ana"),
                sale("day-91", "2026-05-31T00:00:00Z", "ana"),
                sale("before", "2026-02-28T23:59:00Z", "ana"),
                sale("cancelled", "2026-03-06T10:00:00Z", "ana", count=0),
                sale("someone-else", "2026-03-07T10:00:00Z", "carol"),
            )
        ],
        ZoneInfo("UTC"),
    )
    page = manager.get(f"/moments/{created.id}")
    assert page.status_code == 200
    text = page.text
    assert "Purchases within 90 days" in text and "3 by the people of this moment" in text
    # Amounts and days as the page's language writes them (English here).
    assert "#1042" in text and "€49.90" in text and "BO@example.com" in text
    assert "May 30, 2026" in text  # day 90 counts
    assert "May 31, 2026" not in text and "Feb 28, 2026" not in text and "carol" not in text
