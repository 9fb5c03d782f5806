"""The Grafana OnCall dialect's common contract, over small resources: how the key is sent, the
403s, 404s, validation and throttle bodies, page-number pagination, trailing slashes and bodies as
JSON or form."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.factories.orgs import OrgFactory
from tests.integration.compat.grafana_oncall.conftest import API, Grafana

BASE = "http://127.0.0.1:8080"  # TOCSIN_BASE_URL of the test app


def test_the_bare_key_bearer_and_grafana_url_header_all_authenticate(orgs: OrgFactory) -> None:
    org = orgs.new()
    for authorization in (org.key, f"Bearer {org.key}"):
        response = org.client.get(
            f"{API}/organizations",
            headers={"Authorization": authorization, "X-Grafana-URL": "https://x.grafana.net"},
        )
        assert response.status_code == 200, authorization
        assert response.json()["results"] == [{"id": org.org_id}]


def test_auth_failures_are_403_in_drf_words(orgs: OrgFactory) -> None:
    org = orgs.new()
    missing = org.client.get(f"{API}/alert_groups")
    assert (missing.status_code, missing.json()) == (
        403,
        {"detail": "Authentication credentials were not provided."},
    )
    wrong = org.client.get(f"{API}/alert_groups", headers={"Authorization": "sk_live_nope"})
    assert (wrong.status_code, wrong.json()) == (403, {"detail": "Invalid token."})


def test_read_only_key_cannot_write(orgs: OrgFactory) -> None:
    org = orgs.new()
    reader = Grafana(org, org.make_key(["incidents:read", "services:read"]))
    assert reader.get("/alert_groups").status_code == 200
    response = reader.post("/integrations", json={"type": "webhook"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_missing_scope_is_the_permission_body(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = Grafana(org, org.make_key(["teams:read"])).get("/alert_groups")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_not_found_for_unknown_ids_other_orgs_ids_and_unknown_routes(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    _, routing_key = other.make_service()
    other.trigger(routing_key)
    their_incident = other.get("/api/incidents").json()["data"][0]["id"]
    grafana = Grafana(org)
    for path in (
        "/alert_groups/inc_missing",
        f"/alert_groups/{their_incident}",
        "/teams/tm_missing",
        f"/organizations/{other.org_id}",
        "/no_such_resource",
        "/alert_groups/x/no_such_action",
    ):
        response = grafana.get(path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), path
    acted = grafana.post(f"/alert_groups/{their_incident}/acknowledge")
    assert (acted.status_code, acted.json()) == (404, {"detail": "Not found."})
    theirs = other.get(f"/api/incidents/{their_incident}").json()["data"]
    assert theirs["status"] == "OPEN"


def test_validation_bodies(orgs: OrgFactory) -> None:
    grafana = Grafana(orgs.new())
    assert grafana.post("/resolution_notes", json={"text": "x"}).json() == {
        "alert_group_id": ["This field is required."]
    }
    not_json = grafana.post(
        "/resolution_notes", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["detail"].startswith("JSON parse error")
    a_list = grafana.post("/resolution_notes", json=["x"])
    assert a_list.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_throttled_reads_answer_429_with_retry_headers(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"read": "2/minute"})
    grafana = Grafana(org)
    assert [grafana.get("/teams").status_code for _ in range(2)] == [200, 200]
    response = grafana.get("/teams")
    assert response.status_code == 429
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert response.headers["RateLimit-Reset"] == str(retry)
    assert response.json() == {"detail": f"Request was throttled. Expected available in {retry} seconds."}


def _page(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    assert parts.path == f"{API}/teams"
    return parse_qs(parts.query)


def test_pagination_links_edges_and_caps(orgs: OrgFactory) -> None:
    org = orgs.new()
    for index in range(5):
        org.make_team(f"team-{index}")
    grafana = Grafana(org)

    first = grafana.get("/teams", params={"perpage": 2}).json()
    assert list(first) == [
        "count",
        "next",
        "previous",
        "results",
        "page_size",
        "current_page_number",
        "total_pages",
    ]
    assert (first["count"], first["page_size"], first["current_page_number"], first["total_pages"]) == (
        5,
        2,
        1,
        3,
    )
    assert first["previous"] is None
    assert _page(first["next"]) == {"perpage": ["2"], "page": ["2"]}

    second = grafana.get("/teams", params={"perpage": 2, "page": 2}).json()
    assert _page(second["previous"]) == {"perpage": ["2"]}  # previous of page 2 drops page
    assert _page(second["next"]) == {"perpage": ["2"], "page": ["3"]}

    last = grafana.get("/teams", params={"perpage": 2, "page": 3}).json()
    assert (last["next"], len(last["results"])) == (None, 1)

    past_the_end = grafana.get("/teams", params={"perpage": 2, "page": 99}).json()
    assert past_the_end["current_page_number"] == 3
    assert past_the_end["results"] == last["results"]

    for bad in ("0", "-1", "abc", ""):
        fallback = grafana.get("/teams", params={"perpage": 2, "page": bad})
        assert fallback.status_code == 200
        assert fallback.json()["current_page_number"] == 1

    capped = grafana.get("/teams", params={"perpage": 1000}).json()
    assert capped["page_size"] == 100
    assert grafana.get("/teams", params={"perpage": "x"}).json()["page_size"] == 50


def test_empty_list_has_one_page(orgs: OrgFactory) -> None:
    body = Grafana(orgs.new()).get("/alert_groups").json()
    assert (body["count"], body["results"], body["total_pages"], body["next"]) == (0, [], 1, None)


def test_routes_answer_with_and_without_trailing_slash(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.make_team("Payments")
    grafana = Grafana(org)
    for path in ("/teams", "/teams/", f"/teams/{team}", f"/teams/{team}/"):
        assert grafana.get(path).status_code == 200, path


def test_form_encoded_and_multipart_bodies(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    org.trigger(routing_key)
    incident = org.get("/api/incidents").json()["data"][0]["id"]
    grafana = Grafana(org)
    form = grafana.post("/resolution_notes", data={"alert_group_id": incident, "text": "from a form"})
    assert form.status_code == 201, form.text
    multipart = grafana.post(
        "/resolution_notes", data={"alert_group_id": incident, "text": "multipart"}, files={"f": b"x"}
    )
    assert multipart.status_code == 201, multipart.text
    silenced = grafana.post(f"/alert_groups/{incident}/silence", data={"delay": "600"})
    assert silenced.status_code == 200, silenced.text
    assert grafana.get(f"/alert_groups/{incident}").json()["state"] == "silenced"
