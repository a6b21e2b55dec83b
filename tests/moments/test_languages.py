"""The moments site in Turkish, Arabic, Persian and Finnish: every page without English left,
right-to-left for ar and fa, the language chosen (account, login page, Accept-Language), digits
and plural forms, and the account page's picker (docs/using.md#languages)."""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import uvicorn
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common import i18n, processes
from services.common.config import Settings
from services.domain import accounts
from services.domain.auth import Role, create_token
from services.domain.people import PLACES
from services.domain.tables import User
from services.domain.vocabulary import NETWORK_LABELS
from services.moments import service
from services.moments.app import create_app
from services.moments.models import MomentCreate, MomentUpdate, SheetSync
from services.moments.web.speech import templates
from tests.moments.conftest import PASSWORD, csrf_of, login

LOCALE = Path(i18n.LOCALE_DIR)
OTHERS = ("tr", "ar", "fa", "fi")
# What people typed, chosen with no English words in it: what the pages show of it is data.
DATA_WORDS = {"ana", "bo", "root", "vera", "acme", "status", "x1", "x2", "com", "https"}
DATA_WORDS |= {"instagram", "p"}  # the second moment's link
# Words of the product's world that every language writes as is.
# And the keys of `rapport people export` the person's-data page names beside each place.
# And each language by its own name, as the pickers offer them.
KEPT = {"Rapport", "UTC", "min", "h", *PLACES, "sheet_rows"} | {
    word
    for label in [*NETWORK_LABELS.values(), *i18n.NAMES.values()]
    for word in re.findall(r"[A-Za-z][A-Za-z_]*", label)
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


class _Visible(HTMLParser):
    """The text a person reads: text nodes and the attributes shown or spoken (titles,
    placeholders, aria-labels, confirmations, the phone layout's cell labels); never code."""

    SHOWN = ("title", "placeholder", "aria-label", "data-confirm", "data-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self.hidden += 1
        self.parts += [value for name, value in attrs if name in self.SHOWN and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return "\n".join(parser.parts)


def _catalog(language: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(English forms, translated forms) of every entry of a language's catalog."""
    with (LOCALE / language / "LC_MESSAGES" / "rapport.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    entries = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        entries.append((tuple(ids), tuple(strings)))
    return entries


def english_left(page: str, language: str) -> list[str]:
    """The English texts of the catalog that a page in `language` still shows: each source
    text cut at its placeholders and tags into phrases, a phrase found whole-word in the page
    counting, unless the language's own translations keep it (brand names, SLA, CSV)."""
    entries = _catalog(language)
    kept = "\n".join(text for _, strings in entries for text in strings)
    text = visible(page)
    left = set()
    for ids, _ in entries:
        for source in ids:
            plain = re.sub(r"<[^>]+>", "\n", PLACEHOLDER.sub("\n", source))
            for phrase in re.split(r"[\n(),:;.?!“”'‘’·—→←]+", plain):
                phrase = phrase.strip(" -`")
                if not re.search(r"[A-Za-z]{2,}", phrase) or phrase in KEPT:
                    continue
                pattern = rf"(?<![\w@]){re.escape(phrase)}(?!\w)"
                if re.search(pattern, text) and not re.search(pattern, kept):
                    left.add(phrase)
    return sorted(left)


def latin_words(page: str, language: str) -> list[str]:
    """Latin-script words in a page of an Arabic-script language, but for the product's world,
    what people typed and what the translations themselves keep (Google, SLA, CSV)."""
    kept = {
        word
        for _, strings in _catalog(language)
        for text in strings
        for word in re.findall(r"[A-Za-z]+", PLACEHOLDER.sub(" ", text))
    }
    words = set(re.findall(r"[A-Za-z][A-Za-z_]+", visible(page)))
    return sorted(words - kept - KEPT - DATA_WORDS)


@pytest.fixture
def site(
    app_client: TestClient, engine: Engine
) -> Iterator[tuple[TestClient, Callable[[str], TestClient], dict[str, str]]]:
    """Moments to show (one edited, one deleted), a token, and a client per language: an
    admin whose account reads that language."""
    with Session(engine) as session:
        accounts.create(session, username="root", password=PASSWORD, role=Role.admin)
        accounts.create(session, username="vera", password=PASSWORD, role=Role.viewer)
        create_token(session, name="x1", role=Role.manager)
        first = service.create(
            session,
            data=MomentCreate.model_validate(
                {
                    "occurred_on": "2026-03-02",
                    "network": "twitter",
                    "link": "https://x.com/acme/status/1",
                    "people": ["@ana", "@bo"],
                    "customer_status": "existing_customer",
                    "change": "★ ✓",
                    "outcome": "retention",
                    "initiated_by": "brand",
                    "tags": ["x1"],
                }
            ),
            actor="root",
        )
        service.update(
            session,
            moment=first,
            data=MomentUpdate.model_validate({"change": "✓✓", "customer_status": "prospect"}),
            actor="root",
        )
        gone = service.create(
            session,
            data=MomentCreate.model_validate(
                {
                    "occurred_on": "2026-03-03",
                    "network": "instagram",
                    "link": "https://instagram.com/p/x2",
                    "people": ["@bo"],
                    "change": "✓",
                }
            ),
            actor="root",
        )
        service.delete(session, moment=gone, actor="root")
        ids = {"moment": first.id, "deleted": gone.id}

    def as_language(language: str) -> TestClient:
        with Session(engine) as session:
            accounts.set_language(session, "root", language)
        client = TestClient(app_client.app)
        return login(client, "root")

    yield app_client, as_language, ids


def pages(client: TestClient, ids: dict[str, str]) -> dict[str, str]:
    """Every page of the site as an admin reads it, and the pages that refuse or complain."""
    moment, deleted = ids["moment"], ids["deleted"]
    csrf = csrf_of(client)
    got = {
        path: client.get(path).text
        for path in (
            "/",
            "/?q=nothing-like-it#moments",
            f"/?deleted={deleted}",
            f"/moments/{moment}",
            f"/moments/{moment}/edit",
            "/deleted",
            f"/moments/{deleted}",
            "/users",
            "/people?person=@ana",
            "/people",
            "/account",
            "/moments/00000000",  # no such moment
            "/no/such/page",
            "/?date_from=not-a-date",
        )
    }
    refused = client.post(
        "/moments",
        data={"csrf_token": csrf, "link": "not a link", "people": "", "change": " "},
    )
    assert refused.status_code == 422
    got["POST /moments (field errors)"] = refused.text
    got["POST /users (taken)"] = client.post(
        "/users", data={"csrf_token": csrf, "username": "vera", "role": "viewer"}
    ).text
    got["POST /users/vera (disabled)"] = client.post(
        "/users/vera", data={"csrf_token": csrf, "action": "disable"}
    ).text
    got["POST /users/vera (enabled)"] = client.post(
        "/users/vera", data={"csrf_token": csrf, "action": "enable"}
    ).text
    got["POST /tokens"] = client.post(
        "/tokens", data={"csrf_token": csrf, "name": "x2", "role": "viewer"}
    ).text
    got["POST /people/forget (unconfirmed)"] = client.post(
        "/people/forget", data={"csrf_token": csrf, "person": "@ana", "confirm": "@bo"}
    ).text
    got["POST /password (differ)"] = client.post(
        "/password",
        data={"csrf_token": csrf, "new_password": "a" * 12, "new_password_again": "b" * 12},
    ).text
    got["POST /password (short)"] = client.post(
        "/password",
        data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "a"}
        | {"new_password_again": "a"},
    ).text
    got["POST without CSRF"] = client.post(f"/moments/{moment}/delete", data={}).text
    return got


@pytest.mark.parametrize("language", OTHERS)
def test_every_page_speaks_the_language_with_no_english_left(
    site: tuple[TestClient, Callable[[str], TestClient], dict[str, str]], language: str
) -> None:
    _, as_language, ids = site
    client = as_language(language)
    for name, page in pages(client, ids).items():
        direction = "rtl" if language in ("ar", "fa") else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in page, name
        assert english_left(page, language) == [], name
        if language in ("ar", "fa"):
            assert latin_words(page, language) == [], name


def test_the_check_finds_english(
    site: tuple[TestClient, Callable[[str], TestClient], dict[str, str]],
) -> None:
    """The English pages hold every phrase the check looks for: it cannot pass by looking at
    nothing."""
    _, as_language, ids = site
    english = pages(as_language("en"), ids)
    assert "Log a meaningful moment" in english_left(english["/"], "fi")
    assert "reached" in latin_words(english[f"/moments/{ids['moment']}"], "fa")
    assert '<html lang="en" dir="ltr">' in english["/"]


def test_login_page_follows_the_browser_and_offers_five_languages(app_client: TestClient) -> None:
    page = app_client.get("/login", headers={"Accept-Language": "de-DE, fi;q=0.8, en;q=0.5"})
    assert '<html lang="fi" dir="ltr">' in page.text and "Kirjaudu sisään" in page.text
    for code, name in i18n.NAMES.items():
        assert name in visible(page.text)
        if code != "fi":
            assert f'href="/login?language={code}&amp;next=%2F"' in page.text
    picked = app_client.get("/login?language=fa&next=/deleted", follow_redirects=False)
    assert picked.status_code == 303 and picked.headers["location"] == "/login?next=%2Fdeleted"
    assert "rapport_language=fa" in picked.headers["set-cookie"]
    again = app_client.get(picked.headers["location"], headers={"Accept-Language": "fi"})
    assert '<html lang="fa" dir="rtl">' in again.text and "ورود" in again.text
    assert 'name="next" value="/deleted"' in again.text
    # Not a language of Rapport's: nothing kept, the page as before.
    unknown = TestClient(app_client.app).get("/login?language=xx", follow_redirects=False)
    assert unknown.status_code == 200
    assert "rapport_language" not in unknown.headers.get("set-cookie", "")


@pytest.fixture
def served(moments_settings: Settings, engine: Engine) -> Iterator[str]:
    """The app on a real port, RAPPORT_LANGUAGE Turkish: Accept-Language over HTTP."""
    port = processes.free_port()
    settings = moments_settings.model_copy(update={"rapport_language": "tr"})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine, sync_sheets=False), port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    processes.wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        pytest.param("fi;q=0.5, ar-SA;q=0.9, en;q=0.1", "ar", id="q-values"),
        pytest.param("ar-SA", "ar", id="ar-SA"),
        pytest.param("fa-IR,fa;q=0.9,en-US;q=0.8", "fa", id="fa-IR"),
        pytest.param("tr-TR, fi", "tr", id="order-kept-on-ties"),
        pytest.param("fi;q=0, en;q=0.2", "en", id="q-zero-refuses"),
        pytest.param("de-CH, ja", "tr", id="unknown-falls-to-RAPPORT_LANGUAGE"),
        pytest.param("", "tr", id="no-header"),
    ],
)
def test_accept_language_through_a_real_request(served: str, header: str, language: str) -> None:
    url = served + "/login"  # our own server, over http
    request = urllib.request.Request(url, headers={"Accept-Language": header})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        assert response.headers["Content-Language"] == language
    direction = "rtl" if language in ("ar", "fa") else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in page


def test_the_accounts_language_wins_over_the_browsers(
    app_client: TestClient, make_user: Callable[[str, Role], str], engine: Engine
) -> None:
    make_user("maria", Role.manager)
    with Session(engine) as session:
        accounts.set_language(session, "maria", "fi")
    client = login(app_client, "maria")
    page = client.get("/", headers={"Accept-Language": "ar"})
    assert (
        '<html lang="fi" dir="ltr">' in page.text and "Kirjaa merkityksellinen hetki" in page.text
    )


def test_persian_and_arabic_digits_in_dates_and_counts(
    site: tuple[TestClient, Callable[[str], TestClient], dict[str, str]],
) -> None:
    _, as_language, ids = site
    persian = visible(as_language("fa").get("/").text)
    assert "۱ لحظه" in persian  # the count
    assert "۱۱ اسفند ۱۴۰۴ (۲ مارس ۲۰۲۶)" in persian  # Jalali beside Gregorian
    arabic = as_language("ar")
    assert "لحظة واحدة" in visible(arabic.get("/").text)
    trail = visible(arabic.get(f"/moments/{ids['moment']}").text)
    assert "٠٢‏/٠٣‏/٢٠٢٦" in trail or "٢ مارس ٢٠٢٦" in trail, trail
    assert not re.search(r"[0-9]", re.sub(r"https?://\S+|x[0-9]", "", trail))  # no Latin digits
    finnish = visible(as_language("fi").get(f"/moments/{ids['moment']}").text)
    assert "2.3.2026" in finnish


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (0, "لا لحظات"),
        (1, "لحظة واحدة"),
        (2, "لحظتان"),
        (3, "٣ لحظات"),
        (11, "١١ لحظة"),
        (100, "١٠٠ لحظة"),
    ],
)
def test_arabic_counts_moments_in_its_six_plural_forms(count: int, said: str) -> None:
    """The list's count, as its template renders it in Arabic."""
    template = templates("ar").env.from_string(
        '{{ ngettext("%(num)s moment", "%(num)s moments", total, num=total|number) }}'
    )
    assert template.render(total=count) == said


def test_the_picker_saves_the_accounts_language(
    app_client: TestClient, make_user: Callable[[str, Role], str], engine: Engine
) -> None:
    make_user("vera", Role.viewer)  # any role chooses its own language
    client = login(app_client, "vera")
    account = client.get("/account").text
    assert 'action="/account/language"' in account and "Your browser's language" in account
    refused = client.post("/account/language", data={"language": "fa"}, follow_redirects=False)
    assert refused.status_code == 403

    def language() -> str | None:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == "vera")).one()
            return user.language

    assert language() is None
    csrf = csrf_of(client, "/account")
    saved = client.post(
        "/account/language", data={"csrf_token": csrf, "language": "fa"}, follow_redirects=False
    )
    assert saved.status_code == 303 and language() == "fa"
    page = client.get(saved.headers["location"], headers={"Accept-Language": "fi"}).text
    assert '<html lang="fa" dir="rtl">' in page and "زبان ذخیره شد" in page
    assert '<option value="fa" lang="fa" selected>' in page
    wrong = client.post("/account/language", data={"csrf_token": csrf, "language": "de"})
    assert wrong.status_code == 422 and language() == "fa"
    back = client.post(
        "/account/language",
        data={"csrf_token": csrf, "language": "browser"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and language() is None
    # /password, the header's old link, is the same page.
    assert 'action="/account/language"' in client.get("/password").text


@pytest.mark.parametrize("language", OTHERS)
def test_the_moments_csv_is_headed_in_the_readers_language(
    site: tuple[TestClient, Callable[[str], TestClient], dict[str, str]], language: str
) -> None:
    """The list's download, for people: its header row and the moment words in the reader's
    language (the API's, for programs, keeps the field names: tests/moments/test_api.py)."""
    _, as_language, _ids = site
    exported = as_language(language).get("/moments.csv")
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    header, first = exported.text.lstrip("\ufeff").splitlines()[:2]
    say = i18n.speaker(language)
    assert header.split(",")[:2] == [say._("Moment ID"), say._("Date")]
    assert say._("Prospect") in first and "prospect" not in first
    assert english_left(header, language) == [], header
    if language in ("ar", "fa"):
        assert latin_words(header, language) == [], header


@pytest.mark.parametrize("language", OTHERS)
@pytest.mark.parametrize(
    "error",
    [
        pytest.param("quota: APIError: [429]: Quota exceeded for quota metric", id="quota"),
        pytest.param("auth: RefreshError: invalid_grant: account not found", id="auth"),
        pytest.param("connection: ConnectionError: Max retries exceeded", id="connection"),
        pytest.param("something new: Traceback of a kind never seen", id="unknown"),
    ],
)
def test_a_failed_sheet_sync_says_why_in_the_readers_language(language: str, error: str) -> None:
    """Google's answer stays in the log and `rapport sheets status`; the badge and its title
    say the reason as the reader's language does."""
    badge = templates(language).env.get_template("_list.html").module.sync_badge  # type: ignore[attr-defined]
    for state in ("failed", "pending"):
        shown = str(badge(SheetSync(state=state, attempts=8, error=error)))
        assert "Error" not in shown and "exceeded" not in shown and "Traceback" not in shown
        assert english_left(shown, language) == [], shown
        if language in ("ar", "fa"):
            assert latin_words(shown, language) == [], shown


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_a_moments_heading_and_times_keep_their_order_right_to_left(
    site: tuple[TestClient, Callable[[str], TestClient], dict[str, str]], language: str
) -> None:
    """The network's name isolated between the dots of the heading (beside it, Persian digits
    of the date joined "X (Twitter)" and read before it), and the zone of a time isolated from
    the clock's digits."""
    _, as_language, ids = site
    page = as_language(language).get(f"/moments/{ids['moment']}").text
    assert '<span class="muted">· <bdi>X (Twitter)</bdi> · ' in page
    assert "\u2068UTC\u2069" in page
