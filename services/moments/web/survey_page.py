"""The public survey page /s/{token}: no login, the customer's own language, five choices and
an optional comment; the answer, kept in the survey outbox, becomes a `rating` event
(docs/using.md#customer-satisfaction-surveys). Apart from the staff pages on purpose: its own
small template and stylesheet, nothing a staff page loads."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import OperationalError

from services.common import i18n
from services.common.deps import engine_of, settings_of
from services.common.i18n import N_
from services.domain.vocabulary import RATING_SCALE
from services.moments import metrics, survey_outbox, surveys

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parents[1] / "templates" / "survey"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates change only with a new release: never look at their files again once loaded
    # (a stat of each for every answer was a quarter of the page's time).
    auto_reload=False,
)
# From worst to best, as the customer reads them; the value is the rating (1..5).
CHOICES = (
    (1, N_("Very dissatisfied")),
    (2, N_("Dissatisfied")),
    (3, N_("Neither satisfied nor dissatisfied")),
    (4, N_("Satisfied")),
    (5, N_("Very satisfied")),
)
# A survey is answered once, perhaps corrected once: these stop a script, not a customer.
PER_TOKEN = surveys.Limiter(limit=5, window_s=600)
PER_ADDRESS = surveys.Limiter(limit=30, window_s=60)
FAST_FIELDS = 8  # the page posts two


def _speaker(request: Request) -> i18n.Speaker:
    settings = settings_of(request)
    return i18n.speaker(
        i18n.choose(
            header=request.headers.get("accept-language"), default=settings.rapport_language
        )
    )


def _page(request: Request, name: str, status: int = 200, **context: object) -> HTMLResponse:
    sp = _speaker(request)
    body = TEMPLATES.get_template(name).render(
        lang=sp.language, dir=sp.dir, _=sp._, n_=sp.n_, choices=CHOICES, **context
    )
    # Never cached: the link is the customer's alone, and the page says whether it was answered.
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _invalid(request: Request) -> HTMLResponse:
    return _page(request, "invalid.html", status=404)


def _survey(request: Request, token: str) -> surveys.Survey | None:
    key = surveys.signing_key(settings_of(request))
    return surveys.read(key, token, now=time.time())


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(request: Request, token: str) -> HTMLResponse | None:
    if PER_ADDRESS.allow(_address(request)) and PER_TOKEN.allow(token):
        return None
    return _page(request, "message.html", status=429, problem="busy")


@router.get("/s/{token}", response_class=HTMLResponse)
def survey_form(request: Request, token: str) -> HTMLResponse:
    survey = _survey(request, token)
    if survey is None:
        return _invalid(request)
    answered = survey_outbox.earlier(engine_of(request), survey)
    chosen, comment = answered if answered is not None else (None, "")
    return _page(
        request, "survey.html", limit=surveys.COMMENT_LIMIT, chosen=chosen, comment=comment,
        answered=answered is not None,
    )  # fmt: skip


@router.post("/s/{token}", response_class=HTMLResponse)
async def survey_answer(request: Request, token: str) -> HTMLResponse:
    # No CSRF token: no session or cookie is involved, and the link itself is the secret a
    # forged form would need; the signature decides.
    survey = _survey(request, token)
    if survey is None:
        return _invalid(request)
    refused = _too_many(request, token)
    if refused is not None:
        return refused
    form = await _form(request)
    raw_rating, comment = form.get("rating"), form.get("comment") or ""
    low, high = RATING_SCALE
    stars = int(raw_rating) if isinstance(raw_rating, str) and raw_rating.isdigit() else None
    comment = comment.strip() if isinstance(comment, str) else ""
    errors = {}
    if stars is None or not low <= stars <= high:
        errors["rating"] = "rating"
    if len(comment) > surveys.COMMENT_LIMIT:
        errors["comment"] = "comment"
    if errors:
        # The answer stays as typed, shown escaped, so nothing is lost to a mistake.
        return _page(
            request, "survey.html", status=422, limit=surveys.COMMENT_LIMIT,
            chosen=stars, comment=comment, errors=errors,
        )  # fmt: skip
    assert stars is not None  # the checks above refuse everything else
    state = request.app.state
    answer = survey_outbox.Answer(survey, stars, comment, at=dt.datetime.now(dt.UTC))
    try:
        await keeper(request).keep(answer)
    except OperationalError as exc:  # the database is down: nothing was kept, so say so
        log.warning("survey answer for %s not kept: %s", survey.event_id, exc)
        return _page(request, "message.html", status=503, problem="unavailable")
    metrics.SURVEY_ANSWERS.inc()
    if getattr(state, "survey_relay", None) is not None:
        state.survey_relay.nudge()
    return _page(request, "thanks.html", stars=stars, comment=comment)


async def _form(request: Request) -> Mapping[str, object]:
    """The posted form's fields, the last of each name, as Starlette reads them. The page's own
    form (a few fields, name=value each) is read here at once; anything else goes through
    Starlette's parser (and its limits), which costs a fifth of an answer's time."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        parts = body.split(b"&") if body else []
        if b";" not in body and len(parts) <= FAST_FIELDS and all(b"=" in p for p in parts):
            return {
                unquote_plus(name.decode("latin-1")): unquote_plus(value.decode("latin-1"))
                for name, _, value in (part.partition(b"=") for part in parts)
            }
    return await request.form()  # reads the body kept above, if it was read


def keeper(request: Request) -> survey_outbox.Keeper:
    """The app's one keeper (made on the first answer; the lifespan closes it)."""
    state = request.app.state
    if getattr(state, "survey_keeper", None) is None:
        state.survey_keeper = survey_outbox.Keeper(state.engine)
    found: survey_outbox.Keeper = state.survey_keeper
    return found
