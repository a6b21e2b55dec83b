"""What ingest's routes need from the app beyond settings and engine (services/common/deps.py):
the Kafka publisher and the readiness memo app.create_app keeps in `app.state`, typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from services.ingest.publisher import Publisher

if TYPE_CHECKING:
    from services.ingest.api import Readiness


def publisher_of(request: Request) -> Publisher:
    """The app's publisher (`app.state.publisher`)."""
    publisher: Publisher = request.app.state.publisher
    return publisher


def readiness_of(request: Request) -> Readiness:
    """The app's memo of the last broker check (`app.state.readiness`)."""
    readiness: Readiness = request.app.state.readiness
    return readiness


PublisherDep = Annotated[Publisher, Depends(publisher_of)]
