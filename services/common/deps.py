"""What an HTTP app's routes need from the app, typed: the Settings and the database Engine its
factory keeps in `app.state`, read through these FastAPI dependencies (`SettingsDep`,
`EngineDep`) or, in a helper handed only the request, the accessors below; never as an untyped
`request.app.state.*` that `mypy --strict` cannot see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from services.common.config import Settings


def settings_of(request: Request) -> Settings:
    """The settings the app was built with (`app.state.settings`)."""
    settings: Settings = request.app.state.settings
    return settings


def engine_of(request: Request) -> Engine:
    """The app's database engine (`app.state.engine`)."""
    engine: Engine = request.app.state.engine
    return engine


SettingsDep = Annotated[Settings, Depends(settings_of)]
EngineDep = Annotated[Engine, Depends(engine_of)]
