"""Structured logs: one JSON object a line, with the request id and the municipality."""

from __future__ import annotations

import io
import json
import logging

from services.logs import JsonFormatter


def test_a_request_logs_one_json_line_with_its_id_and_municipality(client, make_staff):
    staff = make_staff("eva", "robertsfors", ("signatory", "robertsfors"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("samverkan.requests")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/me", headers={**staff.headers, "X-Request-Id": "req-42"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == "req-42"
    assert line["municipality"] == "robertsfors"
    assert line["path"] == "/api/me" and line["status"] == 200
    assert line["level"] == "INFO" and "duration_ms" in line
