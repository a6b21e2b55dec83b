"""Streamlit's own loggers through Rapport's handler, so LOG_FORMAT=json holds for the reports
process too. Streamlit gives every logger it creates (streamlit.logger.get_logger) a console
handler of its own with a text format and turns propagation off, and starts uvicorn with
uvicorn's default logging config (handlers of its own again); neither has a setting. So the
one formatter hook is replaced and uvicorn's default config is emptied of handlers: loggers
keep their levels and hand their records to the root handler services.common.logs set up."""

from __future__ import annotations

import logging

import streamlit.logger as streamlit_logger
import uvicorn.config


def _propagate(logger: logging.Logger) -> None:
    handler = getattr(logger, "streamlit_console_handler", None)
    if handler is not None:
        logger.removeHandler(handler)
        delattr(logger, "streamlit_console_handler")
    logger.propagate = True


def through_ours() -> None:
    """Route the loggers Streamlit made so far and every one it makes later."""
    streamlit_logger.setup_formatter = _propagate
    for logger in streamlit_logger._loggers.values():
        _propagate(logger)
    # uvicorn.Config's default log_config is this very dict (bound when uvicorn was imported),
    # so it is changed in place: same levels, no handlers, records propagate to the root.
    default = uvicorn.config.LOGGING_CONFIG
    default["handlers"] = {}
    for settings in default["loggers"].values():
        settings["handlers"] = []
        settings["propagate"] = True


def welcome_flags(json_logs: bool) -> list[str]:
    """Streamlit prints "You can now view your Streamlit app" to stdout: not a JSON line."""
    return ["--logger.hideWelcomeMessage", "true"] if json_logs else []
