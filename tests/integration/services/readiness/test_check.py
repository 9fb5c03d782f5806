"""Readiness in the service layer, for what the HTTP tests cannot set up: a server that cannot
post to a room type, team targets, and the channel set passed in as a plain value."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.db.session import Database
from tocsin.services.catalog import channels
from tocsin.services.escalation import policies
from tocsin.services.readiness import findings as f
from tocsin.services.readiness.check import check_service, check_tenant

T0 = datetime(2026, 12, 7, tzinfo=UTC)
EVERYTHING = frozenset({"email", "sms", "voice", "push", "slack", "teams", "webhook"})


def _policy(database: Database, org: OrgHandle, targets: list[dict[str, str]]) -> str:
    with database.write() as session:
        policy = policies.create_policy(
            session=session,
            tenant=org.tenant,
            now=T0,
            name="Team",
            rules=[{"delay_minutes": 0, "targets": targets}],
        )
        return policy.id


def test_a_room_the_server_cannot_post_to_is_a_warning(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    member = org.make_user("Ana Ruiz")
    team = org.make_team("Payments team", (member,))
    service_id, _ = org.make_service("Payments")
    policy_id = _policy(database, org, [{"type": "team", "id": team}])
    org.patch(f"/api/services/{service_id}", json={"escalation_policy_id": policy_id})
    with database.write() as session:
        room = channels.create_channel(
            session=session,
            tenant=org.tenant,
            service_id=service_id,
            type="slack",
            url="https://hooks.slack.com/services/T/B/x",
            now=T0,
            label="#payments",
        )
    with database.read() as session:
        ready = check_tenant(session=session, tenant=org.tenant, now=T0, configured=EVERYTHING)
        no_slack = check_service(
            session=session,
            tenant=org.tenant,
            service_id=service_id,
            now=T0,
            configured=EVERYTHING - {"slack"},
        )
    # Ana has no contact method: the fallback email reaches her, so only a warning, and the team
    # target counts her as someone the policy pages.
    assert [(x.kind, x.subject.name) for x in ready.findings] == [(f.USER_WITHOUT_CONTACT, "Ana Ruiz")]
    assert f.Ref("escalation_policy", policy_id, "") in ready.findings[0].related
    assert ready.ready
    rooms = [x for x in no_slack.findings if x.kind == f.CHANNEL_NOT_CONFIGURED]
    assert [(x.severity, x.subject.id) for x in rooms] == [(f.WARNING, service_id)]
    assert f.Ref("service_channel", room.id, "") in rooms[0].related
    assert (
        rooms[0].message
        == "'Payments' posts to a slack room that cannot be sent to: Slack is not configured on this server"
    )


def test_a_policy_naming_a_deleted_user_reaches_nobody(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    gone = org.make_user("Gone Soon")
    policy_id = _policy(database, org, [{"type": "user", "id": gone}])
    org.delete(f"/api/users/{gone}")
    with database.read() as session:
        report = check_tenant(session=session, tenant=org.tenant, now=T0, configured=EVERYTHING)
    [finding] = report.findings
    assert (finding.severity, finding.kind, finding.subject.id) == (
        f.ERROR,
        f.LEVEL_WITHOUT_RESPONDERS,
        policy_id,
    )
    assert f"user {gone} no longer exists" in finding.message
