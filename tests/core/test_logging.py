import pytest

pytestmark = pytest.mark.django_db


def test_request_log_line_carries_the_request_id_returned_to_the_client(client, caplog, settings):
    settings.ACCESS_LOG = True
    with caplog.at_level("INFO", logger="siteflow.access"):
        response = client.get("/api/v1/me/", HTTP_X_REQUEST_ID="trace-from-the-edge-1")
    assert response["X-Request-ID"] == "trace-from-the-edge-1"
    [line] = [record.msg for record in caplog.records if record.name == "siteflow.access"]
    assert line["request_id"] == "trace-from-the-edge-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/me/", 401)
    assert line["duration_ms"] >= 0
