"""Probes and metrics through the real app factory."""

from __future__ import annotations

from tests.conftest import AppHarness


def test_live_and_ready_answer_with_the_process_role(api: AppHarness) -> None:
    assert api.client.get("/api/v1/health/live").json() == {"status": "ok"}
    ready = api.client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    # No background work in this harness: no broker in use, hence no broker to wait for.
    assert ready.json() == {
        "status": "ready",
        "database": True,
        "broker": None,
        "controller": {"role": "all", "leader": False},
    }


def test_metrics_count_requests_by_route_template_and_booking_changes(api: AppHarness) -> None:
    api.client.get("/api/v1/spaces/123456")  # a 401 without a token, counted under its template
    text = api.client.get("/metrics").text
    counted = [line for line in text.splitlines() if line.startswith("tierslieu_http_requests_total{")]
    assert any('/spaces/{space_id}",status="401"} 1.0' in line for line in counted), counted
    assert "123456" not in text  # the template, not the raw path: no series per id
    assert 'tierslieu_controller_leader{role="all"} 0.0' in text
    assert "tierslieu_outbox_backlog 0.0" in text  # the notifications outbox is empty
    from tierslieu.events import Event

    api.runtime.events.publish(Event("booking", {"action": "created"}))
    api.runtime.events.publish(Event("access", {"decision": "denied", "reason": "unknown_badge"}))
    text = api.client.get("/metrics").text
    assert 'tierslieu_booking_changes_total{action="created"} 1.0' in text
    assert 'tierslieu_access_decisions_total{decision="denied",reason="unknown_badge"} 1.0' in text
