"""Locust users of the load test: clerks running the three-task flow (submit, then list + complete A, B, C)
and reading their inbox. Run by `python -m bench.loadtest`, headless, against 127.0.0.1 only."""
from __future__ import annotations

from locust import HttpUser, constant, task

from bench.common import DEMO_PASSWORD, GOOD_FORM


class Clerk(HttpUser):
    """One window clerk working as fast as the server answers."""

    wait_time = constant(0)

    def on_start(self) -> None:
        r = self.client.post("/api/v1/auth/token", json={"username": "clerk", "password": DEMO_PASSWORD})
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        self.template_id = self.client.get("/api/v1/templates", headers=self.headers).json()[0]["id"]

    @task(3)
    def three_tasks(self) -> None:
        """Submit a form, then complete its three steps, finding each in the inbox by the form's number."""
        r = self.client.post("/api/v1/forms", headers=self.headers, name="POST /api/v1/forms",
                             json={"template_id": self.template_id, "data": GOOD_FORM, "submit": True})
        if r.status_code != 201:
            return
        number = r.json()["number"]
        for _ in range(3):
            items = self.client.get("/api/v1/tasks", headers=self.headers, name="GET /api/v1/tasks?q=",
                                    params={"q": number, "scope": "all"}).json()
            if not items:
                return
            self.client.post(f"/api/v1/tasks/{items[0]['id']}/complete", headers=self.headers,
                             name="POST /api/v1/tasks/[id]/complete", json={"data": {"decision": "complete"}})

    @task(1)
    def inbox(self) -> None:
        """The first page of the inbox."""
        self.client.get("/api/v1/tasks", headers=self.headers, name="GET /api/v1/tasks", params={"limit": 50})
