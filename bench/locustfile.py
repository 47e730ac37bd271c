"""`make load`: creators browsing, searching, opening previews, revoking and restoring,
and beside them integrations revoking and restoring the same grants through the API.

Each simulated creator signs in as creator@example.com and works on its own slice of
the grants named in bench/load_targets.json; each integration uses one of the API keys
named there. Both count the changes the app reports; `manage.py load_test check` then
holds those counts against the audit trail.
"""

import json
import os
import random
import re
from itertools import count
from pathlib import Path

from locust import HttpUser, between, events, task

HERE = Path(__file__).resolve().parent
TARGETS = json.loads((HERE / "load_targets.json").read_text())
CHANGES = {"revoked": 0, "restored": 0, "unchanged": 0, "through_api": 0}
KEYS = count()
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SEARCHES = ["ada", "customer00", "grace", "example.com", "customer012", "lovelace"]


class Creator(HttpUser):
    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="sign in page")
        token = CSRF.search(page.text).group(1)
        response = self.client.post(
            "/accounts/login/",
            {
                "username": "creator@example.com",
                "password": "kajaccess-demo",
                "csrfmiddlewaretoken": token,
            },
            name="sign in",
        )
        if "/accounts/login/" in response.url:
            raise RuntimeError("could not sign in")
        self.csrf = self.client.cookies.get("csrftoken")
        self.grants = TARGETS["grants"][int(os.getpid() * 7 + id(self)) % 20 :: 20]

    @task(6)
    def contacts_tab(self):
        # The pages the tab opens by number (contacts.paging.NUMBERED_PAGES), and the last.
        page = random.choice([*range(1, 11), "last"])
        self.client.get(f"/contacts/?page={page}&per_page=50", name="/contacts/?page=N")

    @task(3)
    def search(self):
        self.client.get(f"/contacts/?q={random.choice(SEARCHES)}", name="/contacts/?q=…")

    @task(2)
    def filter_by_offer(self):
        self.client.get(f"/contacts/?offer={TARGETS['offer']}", name="/contacts/?offer=N")

    @task(4)
    def preview_and_view_more(self):
        contact = random.choice(TARGETS["contacts"])
        self.client.get(f"/contacts/{contact}/preview/", name="/contacts/N/preview/")
        self.client.get(f"/contacts/{contact}/products/", name="/contacts/N/products/")

    @task(2)
    def more_info_and_purchases(self):
        grant = random.choice(self.grants)
        self.client.get(
            f"/contacts/{grant['contact']}/products/{grant['product']}/", name="More Info"
        )
        self.client.get(f"/contacts/{grant['contact']}/purchases/", name="Purchases tab")

    @task(3)
    def revoke_or_restore(self):
        grant = random.choice(self.grants)
        verb = random.choice(["revoke", "restore"])
        response = self.client.post(
            f"/contacts/{grant['contact']}/grants/{grant['id']}/{verb}/",
            {"reason": "load test", "csrfmiddlewaretoken": self.csrf},
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf},
            name=f"{verb} access",
        )
        if response.status_code != 200:
            return
        text = response.text
        if "already" in text:
            CHANGES["unchanged"] += 1
        elif "revoked for" in text:
            CHANGES["revoked"] += 1
        elif "restored for" in text:
            CHANGES["restored"] += 1


class Integration(HttpUser):
    """A payment processor or help desk: it looks a contact's access up, then revokes or
    restores a grant, with a key of its own so that no key reaches its rate."""

    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self):
        keys = TARGETS["api_keys"]
        self.key = keys[next(KEYS) % len(keys)]
        self.grants = TARGETS["grants"][int(os.getpid() * 11 + id(self)) % 20 :: 20]

    def api(self, method: str, path: str, name: str, **kwargs):
        headers = {"Authorization": f"Api-Key {self.key}"}
        return self.client.request(method, f"/api/v1/{path}", headers=headers, name=name, **kwargs)

    @task(2)
    def contact_access(self):
        grant = random.choice(self.grants)
        self.api("GET", f"contacts/{grant['contact']}/access/", "API contact access")

    @task(3)
    def revoke_or_restore(self):
        grant = random.choice(self.grants)
        verb = random.choice(["revoke", "restore"])
        response = self.api(
            "POST", f"grants/{grant['id']}/{verb}/", f"API {verb}", json={"reason": "load test"}
        )
        if response.status_code != 200:
            return
        if not response.json()["changed"]:
            CHANGES["unchanged"] += 1
            return
        CHANGES["revoked" if verb == "revoke" else "restored"] += 1
        CHANGES["through_api"] += 1


@events.test_stop.add_listener
def save_changes(environment, **kwargs):
    (HERE / "load_changes.json").write_text(json.dumps(CHANGES) + "\n")
