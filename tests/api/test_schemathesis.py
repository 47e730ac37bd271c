"""Schemathesis against the live OpenAPI schema, with a key of each scope and of them all.

Every operation is sent generated requests: none may answer a 500, and every answer
must match what the schema says of it (status, content type, body).
"""

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kajaccess.wsgi import application
from purchases.models import AccessEvent
from tests.api.conftest import ALL_SCOPES, make_key

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

pytestmark = pytest.mark.django_db
KEYS = [ALL_SCOPES, *([scope] for scope in ALL_SCOPES)]


@pytest.fixture(autouse=True)
def one_connection():
    """Keep the test's transaction open across requests, as Django's test client does.

    The WSGI application closes the database connection at each request's end otherwise,
    which on PostgreSQL would end the transaction that holds the test's rows.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=KEYS, ids=["+".join(k) for k in KEYS])
def secret(request, academy):
    return make_key(academy.site, academy.creator, request.param).secret


@schema.parametrize()
# Derandomized, so that a run in CI tries what the last run tried and never flakes; run
# with `--hypothesis-seed=N` (and derandomize off) to explore further.
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, secret):
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {secret}"},
        # A filter or an id of the right type can still name no row of the key's site:
        # that is a 400 or a 404, though the schema cannot say which strings are ids.
        excluded_checks=[positive_data_acceptance],
    )


STATEFUL = """
    # As above: an id of the right type can still name no row of the key's site.
    [checks.positive_data_acceptance]
    enabled = false
    # The chains the schema declares, and only those, with inputs that keep to the schema:
    # the run above already sends each operation what it must refuse.
    [phases.stateful.generation]
    mode = "positive"
    [phases.stateful.inference]
    algorithms = []
    # Not the literals of whichever of the project's modules happen to be loaded: they
    # change with the tests run before, and the walk with them.
    [analysis.constants]
    enabled = false
    # The key of every scope, made for the test: `Api-Key <secret>`.
    [auth.openapi.ApiKey]
    api_key = "Api-Key {secret}"
    """


def realistic_bodies(academy):
    """A hook giving the grant and bulk action bodies ids of the key's site.

    The schema cannot say which strings are an offer's id, so a generated grant or bulk
    action would name no offer and its chain would stop at the first 400."""
    offers = [str(pk) for pk in (academy.bootcamp.pk, academy.membership.pk)]
    contacts = [str(academy.ada.pk), str(academy.grace.pk)]
    grant = "POST /api/v1/contacts/{contact_id}/grants/"
    bulk = "POST /api/v1/bulk-actions/"
    bulk_bodies = st.fixed_dictionaries(
        {
            "action": st.sampled_from(["grant_offer", "revoke_offer", "add_tag", "remove_tag"]),
            "params": st.fixed_dictionaries(
                {"offer": st.sampled_from(offers), "tag": st.sampled_from(["VIP", "Chargeback"])}
            ),
            "selection": st.one_of(
                st.fixed_dictionaries({"contact_ids": st.lists(st.sampled_from(contacts))}),
                st.just({"emails": ["ada@example.com", "grace@example.com"]}),
                st.just({"filters": {}}),
            ),
            "reason": st.text(max_size=20),
        }
    )

    def flatmap_body(context, body):
        label = context.operation.label
        if label == grant and isinstance(body, dict):
            return st.sampled_from(offers).map(lambda offer: {**body, "offer": offer})
        if label == bulk:
            return bulk_bodies
        return st.just(body)

    return flatmap_body


def test_the_api_keeps_to_its_schema_along_its_links(academy):
    """Follow the schema's links from what a key creates (a contact, a grant, a bulk action)
    to what it does next with it: no 500, every answer as the schema says."""
    secret = make_key(academy.site, academy.creator).secret
    config = schemathesis.Config.from_str(STATEFUL.format(secret=secret))
    stateful = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=config)
    stateful.hook("flatmap_body")(realistic_bodies(academy))
    followed = Counter()

    class Workflow(stateful.as_state_machine()):
        # Each walk starts from the academy as the fixture made it: a walk that Hypothesis
        # replays meets the answers it met the first time.
        def __init__(self):
            super().__init__()
            self.start = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.start)
            super().teardown()

        def after_call(self, response, case):
            super().after_call(response, case)
            followed[(case.operation.label, response.status_code)] += 1

    Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The chains were walked, not only their first steps: each of these answered a
    # success at least once, with an id that only a link could have given it. Whether the
    # walk also reaches a revoke and then a restore depends on the ids the database hands
    # out and on the modules loaded before it: the next test follows that chain by hand.
    walked = {label for (label, code), _ in followed.items() if code < 300}
    assert walked >= {
        "GET /api/v1/contacts/{contact_id}/",
        "PATCH /api/v1/contacts/{contact_id}/",
        "GET /api/v1/contacts/{contact_id}/access/",
        "POST /api/v1/contacts/{contact_id}/grants/",
        "GET /api/v1/bulk-actions/{bulk_id}/",
    }, sorted(followed.items())


def test_a_grant_is_revoked_and_restored_along_the_links_its_answers_declare(academy):
    """Add a contact, grant it an offer, revoke, restore and revoke again, each request
    made from the link the previous answer's schema declares, each answer as the schema
    says."""
    secret = make_key(academy.site, academy.creator).secret
    headers = {"Authorization": f"Api-Key {secret}"}
    document = schema.raw_schema

    def follow(operation_id, answer, code, link_name, body=NOT_SET):
        links = _operation(document, operation_id)["responses"][code]["links"]
        link = links[link_name]
        parameters = {
            name: _pointer(answer.json(), expression)
            for name, expression in link["parameters"].items()
        }
        case = schema.find_operation_by_id(link["operationId"]).Case(
            path_parameters=parameters, body=body
        )
        return link["operationId"], case.call_and_validate(headers=headers)

    contact = (
        schema.find_operation_by_id("contacts_create")
        .Case(body={"email": "walked@example.com", "name": "Walked"})
        .call_and_validate(headers=headers)
    )
    assert contact.status_code == 201
    step, answer = follow(
        "contacts_create", contact, "201", "GrantOffer", body={"offer": str(academy.bootcamp.pk)}
    )
    assert answer.status_code == 201 and answer.json()["grant"]["state"] == "active"
    for code, link_name, state in [
        ("201", "RevokeGrant", "revoked"),
        ("200", "RestoreGrant", "active"),
        ("200", "RevokeGrant", "revoked"),
    ]:
        step, answer = follow(step, answer, code, link_name, body={})
        assert answer.status_code == 200
        assert answer.json()["changed"] is True
        assert answer.json()["grant"]["state"] == state
    assert AccessEvent.objects.filter(grant__contact__email="walked@example.com").count() == 4


def _operation(document, operation_id):
    return next(
        operation
        for methods in document["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict) and operation.get("operationId") == operation_id
    )


def _pointer(body, expression):
    """A link's `$response.body#/grant/id`, read from the answer's body."""
    value = body
    for part in expression.removeprefix("$response.body#/").split("/"):
        value = value[part]
    return value


def test_the_schema_declares_what_to_do_next_with_an_answer(client):
    """A client (and the run above) finds from each answer the operations that follow it."""
    document = client.get("/api/v1/schema/?format=json").json()
    declared = {
        (operation["operationId"], code, name, link["operationId"])
        for methods in document["paths"].values()
        for operation in methods.values()
        for code, response in operation["responses"].items()
        for name, link in response.get("links", {}).items()
    }
    assert declared >= {
        ("contacts_create", "201", "GetContact", "contacts_retrieve"),
        ("contacts_create", "201", "ChangeContact", "contacts_partial_update"),
        ("contacts_create", "201", "GetContactAccess", "contacts_access_retrieve"),
        ("contacts_create", "201", "GrantOffer", "contacts_grants_create"),
        ("contacts_grants_create", "201", "RevokeGrant", "grants_revoke_create"),
        ("contacts_grants_create", "201", "ChangeGrantDates", "grants_partial_update"),
        ("grants_revoke_create", "200", "RestoreGrant", "grants_restore_create"),
        ("grants_restore_create", "200", "RevokeGrant", "grants_revoke_create"),
        ("bulk_actions_create", "202", "GetBulkAction", "bulk_actions_retrieve"),
        ("bulk_actions_create", "202", "UndoBulkAction", "bulk_actions_undo_create"),
        ("bulk_actions_retrieve", "200", "UndoBulkAction", "bulk_actions_undo_create"),
    }
    grant_id = document["paths"]["/api/v1/contacts/{contact_id}/grants/"]["post"]["responses"][
        "201"
    ]["links"]["RevokeGrant"]["parameters"]
    assert grant_id == {"grant_id": "$response.body#/grant/id"}
