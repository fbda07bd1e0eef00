"""Security basics: headers, request size limit, no stack traces, rate limiting, 503 when the store fails."""

import pytest

from conftest import assert_error_shape
from web.security import RateLimiter
from matcher.errors import TooManyRequests


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/docs", "/api/v1/nowhere"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_request_size_limit(client):
    response = client.post("/api/v1/match", data="x" * 1_100_000, content_type="application/json")
    assert_error_shape(response, 413, "body")


def test_unexpected_errors_have_no_stack_trace(app, client, monkeypatch):
    import matcher.engine.matching
    import web.matching

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(web.matching, "match_bundles", boom, raising=False)
    monkeypatch.setattr(matcher.engine.matching, "match", boom)
    response = client.post("/api/v1/match", json={"needs": ["loan"], "province": "TH-50"})
    body = assert_error_shape(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "Traceback" not in text and body["error"]


@pytest.mark.parametrize("pragma, status", [("PRAGMA query_only = 1", 503), ("max_page_count", 503)])
def test_a_store_that_cannot_write_answers_503(app, pragma, status):

    from web import context
    from matcher.store import bump_data_version

    @app.post("/api/v1/_test_write")
    def write():
        db = context.get_db()
        if pragma == "max_page_count":
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
            db.execute("CREATE TABLE filler (x BLOB)")
            db.execute("INSERT INTO filler VALUES (zeroblob(1000000))")
        else:
            db.execute(pragma)
        bump_data_version(db)
        return {"ok": True}

    response = app.test_client().post("/api/v1/_test_write")
    body = assert_error_shape(response, status)
    assert response.headers["Retry-After"] == "30"
    assert "nothing was changed" in body["error"]


def test_rate_limiter_caps_events_per_window():
    limiter = RateLimiter(3, 60)
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(TooManyRequests):
        limiter.hit("k")
    limiter.hit("other")  # keys are independent
