"""The pages: login, CSRF, field errors kept, duplicate warning, escaping, roles, sessions."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.domain.auth import Role
from services.domain.tables import Moment
from tests.moments.conftest import csrf_of, login

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


def form(csrf: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "csrf_token": csrf,
        "link": "https://x.com/ana/status/42",
        "network": "",
        "occurred_on": YESTERDAY,
        "people": "@ana, Ana Díaz",
        "customer_status": "existing_customer",
        "initiated_by": "customer",
        "change": "Renewed for a year after we fixed the export.",
        "outcome": "retention",
        "tags": "billing, export",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_a_link_we_cannot_place_asks_for_the_network_and_keeps_the_form(
    manager: TestClient,
) -> None:
    forum = "https://community.acme.example/t/export-broken/991"
    response = manager.post("/moments", data=form(csrf_of(manager), link=forum))
    assert response.status_code == 422
    assert "Pick the network: we could not tell it from the link" in response.text
    assert "Input should be" not in response.text  # not pydantic's list of enum values
    assert forum in response.text and "Renewed for a year after we fixed the export." in (
        response.text
    )
    # The platforms' own spelling in the choices.
    for label in ("X (Twitter)", "LinkedIn", "TikTok", "YouTube"):
        assert f">{label}</option>" in response.text


def test_a_pasted_link_without_its_scheme_gets_https(manager: TestClient) -> None:
    response = manager.post(
        "/moments",
        data=form(csrf_of(manager), link="x.com/acme/status/456"),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = manager.get(response.headers["location"]).text
    assert 'href="https://x.com/acme/status/456"' in page and "X (Twitter)" in page
    # Not a host: still refused, with the reason.
    refused = manager.post("/moments", data=form(csrf_of(manager), link="see the DM from ana"))
    assert refused.status_code == 422 and "must be an http(s) link" in refused.text


def test_pages_need_login(app_client: TestClient) -> None:
    for path in ("/", "/users", "/deleted", "/moments.csv"):
        response = app_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_log_a_moment_through_the_form(manager: TestClient) -> None:
    response = manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    assert response.status_code == 303
    page = manager.get(response.headers["location"])
    assert "Moment logged" in page.text
    # The sync is off here: the page says what happens instead of promising the sheet.
    assert "sync is off, so it is kept here" in page.text and "shortly" not in page.text
    assert "Renewed for a year" in page.text
    assert "Twitter" in page.text  # guessed from the x.com link
    assert "maria" in page.text  # audit trail
    listing = manager.get("/")
    assert "@ana, Ana Díaz" in listing.text


def test_field_errors_are_shown_and_input_kept(manager: TestClient) -> None:
    response = manager.post(
        "/moments", data=form(csrf_of(manager), link="ftp://nope", change="   ", people="@kept")
    )
    assert response.status_code == 422
    assert 'id="link-error"' in response.text and 'id="change-error"' in response.text
    assert 'value="ftp://nope"' in response.text
    assert 'value="@kept"' in response.text


def test_duplicate_link_warns_and_allows_a_deliberate_second_entry(manager: TestClient) -> None:
    first = manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    moment_path = first.headers["location"].split("?")[0]
    again = manager.post("/moments", data=form(csrf_of(manager)))
    assert again.status_code == 409
    assert "already logged" in again.text and moment_path in again.text
    forced = manager.post(
        "/moments", data=form(csrf_of(manager), confirm_duplicate="1"), follow_redirects=False
    )
    assert forced.status_code == 303


def test_csrf_is_enforced(manager: TestClient) -> None:
    assert manager.post("/moments", data=form("forged")).status_code == 403
    assert (
        manager.post(
            "/moments", data={k: v for k, v in form("x").items() if k != "csrf_token"}
        ).status_code
        == 403
    )


def test_stored_xss_renders_as_text(manager: TestClient) -> None:
    evil = "<script>alert('x')</script>"
    response = manager.post(
        "/moments",
        data=form(
            csrf_of(manager),
            people=f"{evil}",
            change=f"{evil} <img src=x onerror=alert(1)>",
            tags="<b>t</b>",
            notes=evil,
        ),
        follow_redirects=False,
    )
    page = manager.get(response.headers["location"]).text
    listing = manager.get("/").text
    for shown in (page, listing):
        assert "<script>alert" not in shown
        assert "&lt;script&gt;" in shown
        assert "<img src=x" not in shown
    assert "default-src 'self'" in manager.get("/").headers["content-security-policy"]


def test_viewer_reads_but_cannot_write(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("vera", Role.viewer)
    login(app_client, "vera")
    page = app_client.get("/")
    assert page.status_code == 200 and "Log a meaningful moment" not in page.text
    assert app_client.post("/moments", data=form(csrf_of(app_client))).status_code == 403
    assert app_client.get("/users").status_code == 403


def test_manager_cannot_manage_users_admin_can(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("maria", Role.manager)
    login(app_client, "maria")
    assert (
        app_client.post(
            "/users", data={"csrf_token": csrf_of(app_client), "username": "x", "role": "admin"}
        ).status_code
        == 403
    )
    app_client.cookies.clear()
    make_user("root", Role.admin)
    login(app_client, "root")
    created = app_client.post(
        "/users",
        data={"csrf_token": csrf_of(app_client, "/users"), "username": "Newbie", "role": "viewer"},
    )
    assert "One-time password" in created.text
    password = re.search(r"<code>([^<]+)</code>", created.text).group(1)  # type: ignore[union-attr]
    app_client.cookies.clear()
    login(app_client, "newbie", password)


def test_session_fixation_and_logout(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("maria", Role.manager)
    page = app_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = app_client.post(
        "/login",
        data={"username": "maria", "password": "correct horse battery", "csrf_token": csrf},
        cookies={"rapport_session": "planted-by-attacker"},
        follow_redirects=False,
    )
    session_id = re.search(r"rapport_session=([^;]+)", response.headers["set-cookie"]).group(1)  # type: ignore[union-attr]
    assert session_id != "planted-by-attacker" and len(session_id) > 30
    app_client.cookies.clear()
    app_client.cookies.set("rapport_session", session_id)
    assert app_client.get("/", follow_redirects=False).status_code == 200
    out = app_client.post(
        "/logout", data={"csrf_token": csrf_of(app_client)}, follow_redirects=False
    )
    assert out.status_code == 303
    app_client.cookies.clear()
    app_client.cookies.set("rapport_session", session_id)  # the old id no longer works
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_and_errors_are_generic(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("maria", Role.manager)
    for _ in range(5):
        page = app_client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        wrong = app_client.post(
            "/login", data={"username": "maria", "password": "guess", "csrf_token": csrf}
        )
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    page = app_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    blocked = app_client.post(
        "/login",
        data={"username": "maria", "password": "correct horse battery", "csrf_token": csrf},
    )
    assert blocked.status_code == 429


def test_login_refuses_offsite_redirects(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("maria", Role.manager)
    page = app_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = app_client.post(
        "/login",
        data={
            "username": "maria",
            "password": "correct horse battery",
            "csrf_token": csrf,
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_login_may_send_people_back_to_the_reports_app_only(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    """One login for both sites: the reports app sends people here with next=its URL."""
    make_user("maria", Role.manager)
    reports = "http://127.0.0.1:8501/"
    deep = reports + "conversations?sla=breached&network=twitter&account=%40brand"
    for target, expected in (
        (reports, reports),
        (deep, deep),  # a bookmarked page of the reports, with its view
        ("http://127.0.0.1:8501/@evil.example", "/"),
        ("http://127.0.0.1:8501//evil.example/", "/"),
        ("http://127.0.0.1:8501/\\evil.example/", "/"),
        ("http://127.0.0.1:8501.evil.example/", "/"),
        ("https://evil.example/", "/"),
    ):
        app_client.cookies.clear()
        page = app_client.get("/login", params={"next": target})
        assert f'value="{html.escape(expected)}"' in page.text, target
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = app_client.post(
            "/login",
            data={
                "username": "maria",
                "password": "correct horse battery",
                "csrf_token": csrf,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, target
    # Already signed in: the login link goes straight back.
    again = app_client.get("/login", params={"next": reports}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == reports


def test_edit_delete_and_admin_restore(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("root", Role.admin)
    login(app_client, "root")
    created = app_client.post("/moments", data=form(csrf_of(app_client)), follow_redirects=False)
    path = created.headers["location"].split("?")[0]
    edit = app_client.post(
        f"{path}/edit",
        data=form(csrf_of(app_client, f"{path}/edit"), change="Became an advocate."),
        follow_redirects=False,
    )
    assert edit.status_code == 303
    page = app_client.get(path).text
    assert "Became an advocate." in page and "edit" in page
    app_client.post(f"{path}/delete", data={"csrf_token": csrf_of(app_client, path)})
    assert "Became an advocate." not in app_client.get("/").text
    assert "Became an advocate." in app_client.get("/deleted").text
    app_client.post(f"{path}/restore", data={"csrf_token": csrf_of(app_client, path)})
    assert "Became an advocate." in app_client.get("/").text


def test_saved_undo_and_a_readable_history(
    manager: TestClient,
    engine: Engine,
    app_client: TestClient,
    make_user: Callable[[str, Role], str],
) -> None:
    created = manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    path = created.headers["location"].split("?")[0]
    edit = manager.post(
        f"{path}/edit",
        data=form(csrf_of(manager, f"{path}/edit"), change="Became an advocate."),
        follow_redirects=False,
    )
    page = manager.get(edit.headers["location"]).text
    assert "Saved." in page
    assert (
        "What changed: 'Renewed for a year after we fixed the export.' → 'Became an advocate.'"
        in (page.replace("&#39;", "'"))
    )
    assert '{"change"' not in page  # not the stored JSON
    # Delete: the list offers an undo for a few seconds; taking it back restores the moment.
    deleted = manager.post(
        f"{path}/delete", data={"csrf_token": csrf_of(manager, path)}, follow_redirects=False
    )
    listing = manager.get(deleted.headers["location"]).text
    assert "Moment deleted" in listing and f'action="{path}/undo"' in listing
    undo = manager.post(
        f"{path}/undo", data={"csrf_token": csrf_of(manager)}, follow_redirects=False
    )
    assert undo.status_code == 303
    assert "Delete undone" in manager.get(undo.headers["location"]).text
    assert "Became an advocate." in manager.get("/").text
    # Too late, or someone else's delete: refused with the way out.
    manager.post(f"{path}/delete", data={"csrf_token": csrf_of(manager, path)})
    make_user("other", Role.manager)
    other = login(TestClient(manager.app), "other")
    refused = other.post(f"{path}/undo", data={"csrf_token": csrf_of(other)})
    assert refused.status_code == 409 and "an admin can still restore" in refused.text
    with Session(engine) as session:
        stored = session.get(Moment, path.rsplit("/", 1)[1])
        assert stored is not None and stored.deleted_at is not None
        stored.deleted_at -= dt.timedelta(minutes=5)
        session.add(stored)
        session.commit()
    late = manager.post(f"{path}/undo", data={"csrf_token": csrf_of(manager)})
    assert late.status_code == 409 and "Too late to undo" in late.text
    # The date filters say what they are.
    assert ">From <input" in manager.get("/").text and ">To <input" in manager.get("/").text


def test_filters_and_csv_on_pages(manager: TestClient) -> None:
    manager.post(
        "/moments",
        data=form(csrf_of(manager), link="https://www.instagram.com/p/1/", people="@zoe"),
    )
    manager.post(
        "/moments", data=form(csrf_of(manager), link="https://x.com/b/status/9", people="@bob")
    )
    filtered = manager.get("/", params={"network": "instagram"}).text
    assert "@zoe" in filtered and "@bob" not in filtered
    exported = manager.get("/moments.csv", params={"q": "bob"})
    assert exported.status_code == 200 and "@bob" in exported.text and "@zoe" not in exported.text
    # Named after the filter and the day; instants in UTC, to the second.
    today = dt.date.today().isoformat()
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="moments-bob-{today}.csv"'
    )
    # For people: headed as the Sheet is, in the reader's language, marked UTF-8 for Excel.
    assert exported.text.startswith("\ufeffMoment ID,Date,Network,Link,People,")
    row = next(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    logged = row["Logged at (UTC)"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", logged), logged
    assert row["Network"] == "X (Twitter)" and row["Customer status"] == "Existing customer"
    everything = manager.get(
        "/moments.csv", params={"network": "instagram", "date_from": "2026-01-01"}
    )
    assert (
        f'filename="moments-instagram-from-2026-01-01-{today}.csv"'
        in (everything.headers["content-disposition"])
    )


def test_admin_creates_and_revokes_api_tokens(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("root", Role.admin)
    login(app_client, "root")
    page = app_client.post(
        "/tokens",
        data={"csrf_token": csrf_of(app_client, "/users"), "name": "zendesk", "role": "manager"},
    )
    token = re.search(r"<code>(rpt_[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/moments", headers=headers).status_code == 200
    app_client.post(
        "/tokens/revoke", data={"csrf_token": csrf_of(app_client, "/users"), "name": "zendesk"}
    )
    assert app_client.get("/api/v1/moments", headers=headers).status_code == 401
    app_client.cookies.clear()
    make_user("maria", Role.manager)
    login(app_client, "maria")
    refused = app_client.post(
        "/tokens", data={"csrf_token": csrf_of(app_client), "name": "x", "role": "admin"}
    )
    assert refused.status_code == 403


def test_concurrent_form_posts_all_land(manager: TestClient, engine: Engine) -> None:
    """Each POST reads (duplicate check) then writes; concurrent ones must queue for the write
    lock, not fail on it (a read transaction turned writer gets 'database is locked' at once)."""
    csrf = csrf_of(manager)

    def post(i: int) -> int:
        data = form(csrf, link=f"https://x.com/c/status/{i}")
        return manager.post("/moments", data=data, follow_redirects=False).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(48)))
    assert codes == [303] * 48
    with Session(engine) as session:
        assert len(session.exec(select(Moment)).all()) == 48


def test_the_edit_form_keeps_the_rules_of_the_log_form(manager: TestClient, engine: Engine) -> None:
    created = manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    path = created.headers["location"].split("?")[0]
    edit = manager.post(
        f"{path}/edit",
        data=form(csrf_of(manager, f"{path}/edit"), people="@ana, @bo, @ana", network="x"),
        follow_redirects=False,
    )
    assert edit.status_code == 303, edit.text
    with Session(engine) as session:
        stored = session.exec(select(Moment)).one()
    assert stored.people == '["@ana", "@bo"]'
    assert stored.network == "twitter"


@pytest.mark.parametrize(
    ("target_s", "verdict"),
    [
        pytest.param(1200, "breached (target 20.0 business min)", id="target-20-min"),
        # 0 is a target (every answer must come while closed), not "unset": the summary agrees.
        pytest.param(0, "breached (target 0.0 business min)", id="target-0"),
    ],
)
def test_a_moment_shows_its_conversation_agent_and_sla(
    manager: TestClient, engine: Engine, target_s: int, verdict: str
) -> None:
    from zoneinfo import ZoneInfo

    from services.domain.service_levels import make_schedule
    from services.domain.stored_levels import save_schedule
    from services.ingest.sink import write_batch
    from tests.factories import batch, message

    link = "https://x.com/ana/status/42"
    write_batch(
        engine,
        [
            batch(
                message("message_received", "c42", "2026-03-02T08:00:00Z", url=link),
                message("message_sent", "c42", "2026-03-02T09:30:00Z", actor="lucia", url=link),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:  # opens at 09:00 UTC: 30 business minutes
        schedule = make_schedule(
            timezone="UTC", hours="mon-fri 09:00-17:00", first_response_target_s=target_s
        )
        save_schedule(session, account=None, schedule=schedule, actor="t")
    created = manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    page = manager.get(created.headers["location"]).text
    assert "Answered by</dt><dd><bdi>lucia</bdi>" in page  # a name kept left-to-right in rtl
    assert "First response in business hours</dt><dd>30.0 min" in page
    assert verdict in page


def _login_form(client: TestClient, username: str, password: str, target: str = "/") -> Any:
    page = client.get("/login", params={"next": target})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": target},
        follow_redirects=False,
    )


def test_a_one_time_password_leads_to_a_new_one_and_then_stops_working(
    app_client: TestClient, make_user: Callable[[str, Role], str], engine: Engine
) -> None:
    from services.domain import accounts

    make_user("root", Role.admin)
    admin = login(TestClient(app_client.app), "root")
    created = admin.post(
        "/users",
        data={"csrf_token": csrf_of(admin, "/users"), "username": "nina", "role": "viewer"},
    )
    one_time = re.search(r"One-time password: <code>([^<]+)</code>", created.text).group(1)  # type: ignore[union-attr]
    first = _login_form(app_client, "nina", one_time, "/")
    assert first.status_code == 303 and first.headers["location"] == "/password?next=%2F"
    # Every other page waits for the new password.
    assert app_client.get("/", follow_redirects=False).headers["location"].startswith("/password")
    form = app_client.get("/password")
    assert "Choose your password" in form.text and "Current password" not in form.text
    # Only the form: no way off the page (the one-time password is spent already).
    assert "Log out" not in form.text and 'aria-label="Main"' not in form.text
    # Whoever tries the spent one-time password again learns how to get a new one.
    again = _login_form(TestClient(app_client.app), "nina", one_time)
    assert again.status_code == 401
    assert "used already" in again.text and "rapport users reset --username nina" in again.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    short = app_client.post(
        "/password",
        data={"csrf_token": csrf, "new_password": "short", "new_password_again": "short"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    done = app_client.post(
        "/password",
        data={
            "csrf_token": csrf,
            "next": "/",
            "new_password": "nina's own passphrase",
            "new_password_again": "nina's own passphrase",
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == "/?password=changed"
    assert "Password changed." in app_client.get(done.headers["location"]).text
    # The one-time password works no more; the new one does.
    fresh = TestClient(app_client.app)
    assert _login_form(fresh, "nina", one_time).status_code == 401
    assert _login_form(fresh, "nina", "nina's own passphrase").headers["location"] == "/"
    # Everyone can change their password, with the current one.
    page = fresh.get("/password")
    assert "Current password" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    wrong = fresh.post(
        "/password",
        data={
            "csrf_token": csrf,
            "current_password": "not it at all",
            "new_password": "another passphrase",
            "new_password_again": "another passphrase",
        },
    )
    assert wrong.status_code == 422 and "current password is wrong" in wrong.text
    # An admin resets (a new one-time password, her logins end), changes the role, disables.
    csrf = csrf_of(admin, "/users")
    reset = admin.post("/users/nina", data={"csrf_token": csrf, "action": "reset"})
    assert "New one-time password for <strong>nina</strong>" in reset.text
    assert fresh.get("/", follow_redirects=False).headers["location"].startswith("/login")
    role = admin.post("/users/nina", data={"csrf_token": csrf, "action": "role", "role": "manager"})
    assert "nina is now manager." in role.text
    off = admin.post("/users/nina", data={"csrf_token": csrf, "action": "disable"})
    assert "nina disabled" in off.text
    with Session(engine) as session:
        nina = accounts.user_named(session, "nina")
        assert nina.disabled and nina.role == "manager" and nina.must_change_password
    # The last admin cannot be disabled or demoted.
    alone = admin.post("/users/root", data={"csrf_token": csrf, "action": "disable"})
    assert "the only admin left" in alone.text


def test_changing_the_password_ends_every_other_session_of_the_account(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    """Someone who got in elsewhere (a stolen cookie, a shared computer) is out once the owner
    changes the password; the session that changed it stays, and other accounts' stay too."""
    make_user("maria", Role.manager)
    make_user("ana", Role.manager)
    here = login(TestClient(app_client.app), "maria")
    elsewhere = login(TestClient(app_client.app), "maria")
    someone_else = login(TestClient(app_client.app), "ana")
    changed = here.post(
        "/password",
        data={
            "csrf_token": csrf_of(here, "/password"),
            "current_password": "correct horse battery",
            "new_password": "a brand new passphrase",
            "new_password_again": "a brand new passphrase",
            "next": "/",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    assert here.get("/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert someone_else.get("/", follow_redirects=False).status_code == 200


def test_session_ids_are_stored_as_hashes(
    app_client: TestClient, make_user: Callable[[str, Role], str], engine: Engine
) -> None:
    """A copy of the database (a backup, a read-only leak) holds no cookie that logs in."""
    import hashlib

    from services.domain.tables import UserSession

    make_user("maria", Role.manager)
    client = login(TestClient(app_client.app), "maria")
    cookie = client.cookies["rapport_session"]
    with Session(engine) as session:
        stored = [login_.id for login_ in session.exec(select(UserSession))]
    assert stored == [hashlib.sha256(cookie.encode()).hexdigest()]
    forged = TestClient(app_client.app)
    forged.cookies.set("rapport_session", stored[0])  # the stored value is no cookie
    assert forged.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_admin_actions_ask_first_and_usernames_are_one_word(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("root", Role.admin)
    admin = login(TestClient(app_client.app), "root")
    created = admin.post(
        "/users", data={"csrf_token": csrf_of(admin, "/users"), "username": "ana", "role": "viewer"}
    )
    page = created.text
    # Reset, disable and revoke ask first (app.js confirms every form with data-confirm).
    assert 'data-confirm="Reset the password of ana?' in page
    assert 'data-confirm="Disable ana?' in page
    assert "Roles: <strong>admin</strong>" in page
    spaced = admin.post(
        "/users",
        data={"csrf_token": csrf_of(admin, "/users"), "username": "ana maria", "role": "viewer"},
    )
    assert "A username is one word" in spaced.text and "ana maria</td>" not in spaced.text
    twice = admin.post(
        "/users", data={"csrf_token": csrf_of(admin, "/users"), "username": "Ana", "role": "viewer"}
    )
    assert "There is already a user named ana: choose another username." in twice.text
    admin.post(
        "/tokens", data={"csrf_token": csrf_of(admin, "/users"), "name": "sync", "role": "viewer"}
    )
    assert 'data-confirm="Revoke the token sync?' in admin.get("/users").text


def test_the_list_keeps_its_place_and_speaks_as_the_form_does(manager: TestClient) -> None:
    manager.post("/moments", data=form(csrf_of(manager)), follow_redirects=False)
    page = manager.get("/").text
    # Filtering or paging lands on the list, not on the form above it.
    assert 'id="moments"' in page and 'action="/#moments"' in page
    # The same words as the form's choices (and the reports): not the stored value.
    assert (
        "Existing customer</td>" in page or "Prospect</td>" in page or "Not a customer</td>" in page
    )
    assert "existing customer</td>" not in page and "not customer</td>" not in page
    empty = manager.get("/", params={"q": "nobody-at-all"}).text
    assert '<a href="/#moments">Clear the filters</a>' in empty


def test_the_header_leads_to_the_reports(manager: TestClient) -> None:
    assert '<a href="http://127.0.0.1:8501/">Reports</a>' in manager.get("/").text


def test_only_admins_hear_about_the_sheet_and_in_words(
    app_client: TestClient, make_user: Callable[[str, Role], str]
) -> None:
    make_user("root", Role.admin)
    make_user("vera", Role.viewer)
    root = login(TestClient(app_client.app), "root")
    for n in range(2):
        root.post("/moments", data=form(csrf_of(root), link=f"https://x.com/a/status/{n + 1}"))
    admin = root.get("/").text
    viewer = login(TestClient(app_client.app), "vera").get("/").text
    # Said once, to the admin, in words; no "sheet off" on every row, nor a Sheet column.
    assert admin.count("The Google Sheet is not connected") == 1
    assert "Google Sheet is not connected" not in viewer
    for page in (admin, viewer):
        assert page.count('class="day"') == 2  # the two moments are listed
        assert "sheet off" not in page and '<th scope="col">Sheet</th>' not in page
    for page in (admin, viewer):
        assert "GOOGLE_APPLICATION_CREDENTIALS" not in page and "SHEETS_SPREADSHEET_ID" not in page
