"""Imports end to end: REST and CLI, into the database, never double-counting a re-import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from services.ingest.importers.cli import import_file
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until

SAMPLES = Path(__file__).parent / "samples"
FIRST = SAMPLES / "tweet_activity_metrics_rapport_20190101_20190201_en.csv"
LATER = SAMPLES / "tweet_activity_metrics_rapport_20190101_20190215_en.csv"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def impressions(engine: Engine) -> int:
    return scalar(engine, "SELECT SUM(count) FROM rollup_daily WHERE kind = 'impression'")


def test_rest_import_twice_and_a_newer_export_never_double_count(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    with running_consumer(settings, engine):
        for _ in range(2):
            response = client.post(
                "/v1/imports/x_tweet_activity", content=FIRST.read_bytes(), headers=AUTH
            )
            assert response.status_code == 200, response.text
            assert response.json()["rows"] == 3 and response.json()["rows_rejected"] == 0
        wait_until(lambda: impressions(engine) == 2633 + 1200 + 500, what="first export")
        count_after_first = event_count(engine)
        response = client.post(
            "/v1/imports/x_tweet_activity", content=LATER.read_bytes(), headers=AUTH
        )
        assert response.status_code == 200
        # Posts 1 and 2 are replaced by their larger lifetime totals; post 4 is new; post 3 stays.
        wait_until(lambda: impressions(engine) == 3100 + 1250 + 500 + 900, what="newer export")
    assert event_count(engine) > count_after_first


def test_rest_import_errors(client: TestClient) -> None:
    assert client.post("/v1/imports/myspace", content=b"a,b\n", headers=AUTH).status_code == 404
    wrong = client.post("/v1/imports/twcs", content=FIRST.read_bytes(), headers=AUTH)
    assert wrong.status_code == 422
    assert "missing column" in wrong.json()["detail"]
    assert client.post("/v1/imports/twcs", content=b"x", headers={}).status_code == 401


def test_cli_import_twcs_builds_support_conversations(
    settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_file(settings, source="twcs", path=str(SAMPLES / "twcs.csv"), account=None) == 0
    assert "6 rows read, 6 events accepted, 0 rows rejected" in capsys.readouterr().out
    with running_consumer(settings, engine):
        wait_until(
            lambda: scalar(engine, "SELECT COUNT(*) FROM support_conversation") == 2,
            what="2 conversations",
        )
        wait_until(
            lambda: (
                scalar(
                    engine,
                    "SELECT COUNT(*) FROM support_conversation WHERE first_response_at IS NOT NULL",
                )
                == 1
            ),
            what="the answered conversation",
        )


def test_cli_import_reports_bad_rows(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        '"Tweet id","time","impressions"\n"1","2019-01-31 23:32 +0000","5.0"\n"2","soon","5.0"\n'
    )
    assert import_file(settings, source="x_tweet_activity", path=str(bad), account="@a") == 1
    out = capsys.readouterr().out
    assert "row 3, column 'time'" in out
    assert import_file(settings, source="nope", path=str(bad), account=None) == 2
    assert (
        import_file(settings, source="twcs", path=str(tmp_path / "missing.csv"), account=None) == 2
    )
