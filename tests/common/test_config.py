"""Settings from the environment: LOG_LEVEL and LOG_FORMAT like every other variable, in any
case, and a wrong value said in a sentence that names the variable (no traceback)."""

from __future__ import annotations

import pytest

from services.cli import main
from services.common.config import Settings, get_settings


def test_log_settings_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", " JSON ")
    settings = Settings()
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("LOG_LEVEL", "loud", id="log-level"),
        pytest.param("LOG_FORMAT", "xml", id="log-format"),
        pytest.param("RAPPORT_LANGUAGE", "de", id="language"),
    ],
)
def test_a_wrong_value_is_named_in_a_sentence(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        assert main(["summary"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith(f"rapport: the environment is not valid: {variable}: Input should be")
    assert "Traceback" not in err
