"""No CPR number reaches the server's log, whatever address a client sends."""

from __future__ import annotations

import logging
import logging.config

import pytest
from uvicorn.config import LOGGING_CONFIG

from koes.web.logs import MaskCpr, install_log_masking, uvicorn_log_config

CPR = "0101901234"


def test_the_access_log_line_of_an_address_with_a_cpr_number_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking()  # once is enough: no second filter
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, MaskCpr) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/analyse?f.kommune={CPR}", "1.1", 200)
        logger.info(f"raw message 010190-1234 and {CPR}")
    text = caplog.text
    assert CPR not in text and "010190-1234" not in text
    assert text.count("XXXXXX-XXXX") == 3
    assert "/analyse?f.kommune=XXXXXX-XXXX" in text


def test_the_served_log_configuration_filters_every_handler() -> None:
    config = uvicorn_log_config(LOGGING_CONFIG)
    assert config["handlers"] and all("mask_cpr" in h["filters"] for h in config["handlers"].values())
    assert "filters" not in LOGGING_CONFIG["handlers"]["access"]  # uvicorn's own stays untouched
    logging.config.dictConfig(config)  # a configuration uvicorn can apply
    handler = logging.getLogger("uvicorn.access").handlers[0]
    assert any(isinstance(f, MaskCpr) for f in handler.filters)
