"""Webhooks delivered to a receiver this test starts on loopback."""

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.bulk.runner import start_bulk_action
from kajaccess.actors import Actor
from kajaccess.models import SiteMembership
from purchases.access.services import grant_offer, revoke_grant, revoke_grants
from purchases.models import AccessEvent, WebhookDelivery, WebhookEndpoint
from purchases.webhooks import services, signing, transport
from purchases.webhooks.events import EVENT_TYPES
from purchases.webhooks.tasks import send_webhooks_task
from tests.factories import ContactFactory, MembershipFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POST and answers with `statuses` in turn."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path}
                )
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "http://127.0.0.2:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def endpoint(academy, receiver):
    return services.webhook_endpoint_create(
        site=academy.site,
        url=receiver.url,
        event_types=EVENT_TYPES,
        actor=Actor.creator(academy.creator),
    )


def _grace_granted(academy):
    return grant_offer(
        contact=academy.grace, offer=academy.bootcamp, actor=Actor.creator(academy.creator)
    ).obj


def test_a_change_is_posted_signed_with_the_endpoints_secret(academy, receiver, endpoint):
    grant = _grace_granted(academy)
    send_webhooks_task.enqueue()

    [request] = receiver.requests
    header = request["headers"][signing.SIGNATURE_HEADER]
    assert signing.signature_matches(secret=endpoint.secret, body=request["body"], header=header)
    assert not signing.signature_matches(secret="whsec_other", body=request["body"], header=header)
    body = json.loads(request["body"])
    assert set(body) == {"id", "type", "created", "data"}
    assert body["type"] == "access.granted"
    assert body["data"]["grant"] == str(grant.pk)
    assert body["data"]["contact"]["email"] == academy.grace.email
    assert body["data"]["actor"]["email"] == academy.creator.email
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    [attempt] = delivery.log.all()
    assert (attempt.number, attempt.response_status) == (1, 200)


def test_the_signature_is_the_hmac_of_time_dot_body_as_the_readme_shows(
    endpoint, academy, receiver
):
    import hashlib
    import hmac

    _grace_granted(academy)
    send_webhooks_task.enqueue()
    [request] = receiver.requests
    t, v1 = (part.split("=", 1)[1] for part in request["headers"]["KajAccess-Signature"].split(","))
    signed = t.encode() + b"." + request["body"]
    assert hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest() == v1
    assert abs(int(t) - timezone.now().timestamp()) < 60


def test_a_500_is_retried_after_a_wait_and_then_delivered(academy, receiver, endpoint):
    receiver.statuses = [500]
    _grace_granted(academy)
    now = timezone.now()
    services.deliveries_create(now=now)
    services.deliveries_send(now=now)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.next_attempt_at == now + services.BACKOFF[0]
    assert services.deliveries_send(now=now + timedelta(seconds=30)) == 0

    services.deliveries_send(now=now + services.BACKOFF[0])
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [(a.number, a.response_status) for a in delivery.log.order_by("number")] == [
        (1, 500),
        (2, 200),
    ]
    first, second = receiver.bodies
    assert first == second


def test_a_rolled_back_change_is_never_sent(academy, receiver, endpoint):
    with pytest.raises(RuntimeError), transaction.atomic():
        _grace_granted(academy)
        raise RuntimeError("the change fails after its audit row is written")
    send_webhooks_task.enqueue()

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_each_event_is_delivered_exactly_once_whatever_the_number_of_sweeps(
    academy, receiver, endpoint
):
    actor = Actor.creator(academy.creator)
    contacts = ContactFactory.create_batch(5, site=academy.site)
    grants = [grant_offer(contact=c, offer=academy.bootcamp, actor=actor).obj for c in contacts]
    revoke_grants(grant_ids=[g.pk for g in grants], actor=actor)
    for _ in range(3):
        send_webhooks_task.enqueue()

    ids = [body["id"] for body in receiver.bodies]
    assert len(ids) == len(set(ids)) == 10
    assert (
        sorted(body["type"] for body in receiver.bodies)
        == ["access.granted"] * 5 + ["access.revoked"] * 5
    )
    assert WebhookDelivery.objects.count() == 10


def test_an_endpoint_gets_only_the_events_it_asked_for(academy, receiver):
    services.webhook_endpoint_create(
        site=academy.site,
        url=receiver.url,
        event_types=["access.revoked"],
        actor=Actor.creator(academy.creator),
    )
    grant = _grace_granted(academy)
    revoke_grant(grant=grant, actor=Actor.creator(academy.creator))
    # Another site's change is never sent to this site's endpoint.
    revoke_grant(grant=academy.other_grant, actor=Actor.creator(academy.other_member.user))
    send_webhooks_task.enqueue()

    [body] = receiver.bodies
    assert body["type"] == "access.revoked"
    assert body["data"]["grant"] == str(grant.pk)


def test_a_revoke_by_the_expiry_sweep_is_sent_as_access_expired(academy, receiver, endpoint):
    grant = _grace_granted(academy)
    revoke_grants(grant_ids=[grant.pk], actor=Actor.expiry())
    send_webhooks_task.enqueue()

    assert [body["type"] for body in receiver.bodies] == ["access.granted", "access.expired"]


def test_a_redirect_is_never_followed(academy, receiver, endpoint):
    receiver.statuses = [302]
    _grace_granted(academy)
    send_webhooks_task.enqueue()

    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.log.get().response_status == 302


def test_loopback_is_refused_unless_the_setting_allows_it(academy, receiver, endpoint, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    _grace_granted(academy)
    send_webhooks_task.enqueue()

    assert receiver.requests == []
    attempt = WebhookDelivery.objects.get().log.get()
    assert attempt.response_status is None
    assert "private address" in attempt.error


def test_after_a_day_of_failures_the_endpoint_is_switched_off(academy, receiver, endpoint):
    receiver.statuses = [500] * services.MAX_ATTEMPTS
    _grace_granted(academy)
    now = timezone.now()
    services.deliveries_create(now=now)
    for wait in [timedelta(0), *services.BACKOFF]:
        now += wait
        services.deliveries_send(now=now)

    assert len(receiver.requests) == services.MAX_ATTEMPTS
    assert timedelta(hours=20) < sum(services.BACKOFF, timedelta()) < timedelta(hours=30)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    endpoint.endpoint.refresh_from_db()
    assert not endpoint.endpoint.enabled
    # Switched off, it is sent nothing more, not even new events.
    revoke_grant(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
    send_webhooks_task.enqueue()
    assert len(receiver.requests) == services.MAX_ATTEMPTS


def test_resend_posts_the_same_event_again(academy, receiver, endpoint):
    _grace_granted(academy)
    send_webhooks_task.enqueue()
    services.webhook_delivery_resend(
        delivery=WebhookDelivery.objects.get(), actor=Actor.creator(academy.creator)
    )
    send_webhooks_task.enqueue()

    first, second = receiver.bodies
    assert first["id"] == second["id"]
    assert WebhookDelivery.objects.get().log.count() == 2


@pytest.mark.parametrize(
    "url, event_types, refusal",
    [
        ("http://example.com/hooks", ["access.granted"], "https URL"),
        ("https://example.com/hooks", ["access.nonsense"], "Choose at least one of the events"),
        ("https://example.com/hooks", [], "Choose at least one of the events"),
        ("", ["access.granted"], "Give the https URL"),
    ],
)
def test_an_endpoint_must_be_an_https_url_with_known_events(
    academy, settings, url, event_types, refusal
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ValidationError, match=refusal):
        services.webhook_endpoint_create(
            site=academy.site,
            url=url,
            event_types=event_types,
            actor=Actor.creator(academy.creator),
        )
    assert not WebhookEndpoint.objects.exists()


def test_events_before_the_endpoint_existed_are_not_sent(academy, receiver):
    assert AccessEvent.objects.filter(site=academy.site).exists()
    services.webhook_endpoint_create(
        site=academy.site,
        url=receiver.url,
        event_types=EVENT_TYPES,
        actor=Actor.creator(academy.creator),
    )
    send_webhooks_task.enqueue()
    assert receiver.requests == []


# --- Settings > Webhooks ---------------------------------------------------------------


def test_an_endpoint_added_in_settings_shows_its_secret_once(creator_client, academy, settings):
    response = creator_client.post(
        "/settings/webhooks/",
        {"url": "https://hooks.example.com/kajaccess", "event_types": ["access.revoked"]},
    )
    endpoint = WebhookEndpoint.objects.get(site=academy.site)
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["access.revoked"]
    again = creator_client.get("/settings/webhooks/").content.decode()
    assert "https://hooks.example.com/kajaccess" in again
    assert endpoint.secret not in again


@pytest.mark.parametrize(
    "data, words",
    [
        ({"url": "http://hooks.example.com/", "event_types": ["access.revoked"]}, "https URL"),
        ({"url": "https://hooks.example.com/"}, "Choose at least one of the events"),
        ({"url": "https://x.example/", "event_types": ["access.nope"]}, "Choose events"),
    ],
)
def test_an_endpoint_the_form_refuses_says_why_and_adds_nothing(creator_client, data, words):
    response = creator_client.post("/settings/webhooks/", data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_each_attempt_and_resend_sends_it_again(
    creator_client, academy, receiver, endpoint
):
    receiver.statuses = [500]
    _grace_granted(academy)
    send_webhooks_task.enqueue()
    delivery = WebhookDelivery.objects.get()
    page = creator_client.get(f"/settings/webhooks/{endpoint.endpoint.pk}/").content.decode()
    assert "access.granted" in page and "500" in page and "Resend" in page

    response = creator_client.post(
        f"/settings/webhooks/{endpoint.endpoint.pk}/deliveries/{delivery.pk}/resend/"
    )
    assert response.status_code == 302
    send_webhooks_task.enqueue()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert len(receiver.requests) == 2


def test_another_sites_endpoint_is_a_404(creator_client, academy):
    other = services.webhook_endpoint_create(
        site=academy.other_member.site,
        url="https://other.example.com/hooks",
        event_types=EVENT_TYPES,
        actor=Actor.creator(academy.other_member.user),
    ).endpoint
    assert creator_client.get(f"/settings/webhooks/{other.pk}/").status_code == 404
    assert creator_client.post(f"/settings/webhooks/{other.pk}/delete/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=other.pk).exists()


def test_the_dashboard_tells_the_owner_of_a_switched_off_endpoint_until_it_is_on_again(
    creator_client, academy, receiver, endpoint
):
    notice = "A webhook endpoint was switched off after a day of failed deliveries"
    assert notice not in creator_client.get("/contacts/").content.decode()
    receiver.statuses = [500] * services.MAX_ATTEMPTS
    _grace_granted(academy)
    now = timezone.now()
    services.deliveries_create(now=now)
    for wait in [timedelta(0), *services.BACKOFF]:
        now += wait
        services.deliveries_send(now=now)

    assert notice in creator_client.get("/contacts/").content.decode()
    assistant = MembershipFactory(site=academy.site, role=SiteMembership.Role.ASSISTANT).user
    creator_client.force_login(assistant)
    assert notice not in creator_client.get("/contacts/").content.decode()
    creator_client.force_login(academy.creator)
    creator_client.post(f"/settings/webhooks/{endpoint.endpoint.pk}/enable/")
    assert notice not in creator_client.get("/contacts/").content.decode()


def test_the_readmes_few_lines_verify_a_delivery_and_refuse_a_changed_body(
    academy, receiver, endpoint
):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(import hashlib.*?def signed_by_kajaccess.*?)```", readme, re.S)
    namespace = {}
    exec(code.group(1), namespace)
    verify = namespace["signed_by_kajaccess"]
    _grace_granted(academy)
    send_webhooks_task.enqueue()

    [request] = receiver.requests
    header = request["headers"]["KajAccess-Signature"]
    assert verify(endpoint.secret, request["body"], header)
    assert not verify(endpoint.secret, request["body"] + b" ", header)
    assert not verify("whsec_another", request["body"], header)


def test_a_bulk_revoke_is_one_delivery_per_change_and_one_when_it_finishes(
    academy, receiver, endpoint, django_capture_on_commit_callbacks
):
    contacts = ContactFactory.create_batch(4, site=academy.site)
    actor = Actor.creator(academy.creator)
    for contact in contacts:
        grant_offer(contact=contact, offer=academy.bootcamp, actor=actor)
    send_webhooks_task.enqueue()
    receiver.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bulk = start_bulk_action(
            site=academy.site,
            user=academy.creator,
            action="revoke_offer",
            params={"offer": academy.bootcamp.pk},
            selection={"ids": [c.pk for c in contacts]},
        )
    send_webhooks_task.enqueue()

    types = [body["type"] for body in receiver.bodies]
    assert types == ["access.revoked"] * 4 + ["bulk_action.finished"]
    finished = receiver.bodies[-1]["data"]
    assert (finished["bulk_action"], finished["changed"]) == (str(bulk.pk), 4)
    assert {body["data"]["bulk_action"] for body in receiver.bodies[:4]} == {str(bulk.pk)}


def test_changes_made_while_no_worker_ran_for_hours_are_all_sent(academy, receiver, endpoint):
    send_webhooks_task.enqueue()
    grant = _grace_granted(academy)
    later = timezone.now() + timedelta(hours=6)
    services.deliveries_create(now=later)
    services.deliveries_send(now=later)

    [body] = receiver.bodies
    assert body["data"]["grant"] == str(grant.pk)


def test_a_change_that_commits_just_after_a_sweep_is_sent_by_the_next(academy, receiver, endpoint):
    grant = _grace_granted(academy)
    # The sweep ran a minute after the change was stamped but before it committed.
    AccessEvent.objects.filter(grant=grant).update(at=timezone.now() - timedelta(minutes=1))
    WebhookEndpoint.objects.filter(pk=endpoint.endpoint.pk).update(
        created_at=timezone.now() - timedelta(hours=1), swept_until=timezone.now()
    )
    send_webhooks_task.enqueue()

    sent = [body["type"] for body in receiver.bodies if body["data"]["grant"] == str(grant.pk)]
    assert sent == ["access.granted"]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1"]
    + ["0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1", "localhost"],
)
def test_no_private_loopback_link_local_or_reserved_address_is_sent_to(host, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(transport.AddressRefused, match="private address"):
        transport.checked_address(host, 443)


def test_a_public_address_is_connected_to_as_it_was_checked(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert transport.checked_address("93.184.215.14", 443) == "93.184.215.14"


def test_an_endpoint_that_answers_too_slowly_is_given_up_on_and_tried_again(
    academy, receiver, endpoint, monkeypatch
):
    monkeypatch.setattr(transport, "READ_TIMEOUT", 0.3)
    receiver.delay = 1.0
    _grace_granted(academy)
    started = time.monotonic()
    send_webhooks_task.enqueue()

    assert time.monotonic() - started < 1.0
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.log.get()
    assert (attempt.response_status, attempt.error) == (None, "No answer: ReadTimeoutError")
    assert delivery.status == WebhookDelivery.Status.PENDING
