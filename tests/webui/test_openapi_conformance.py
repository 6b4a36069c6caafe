"""The OpenAPI document tells the truth: schemathesis sends generated requests to every operation of the app
(bounded examples, derandomized) and finds no server error and no response that breaks the document."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.timeout(600)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = 12  # per operation: enough to find undeclared bodies and overflows, bounded for the shared CI machine


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_matches_the_document(app, auth, submit_form):
    submit_form()  # something to find at the low ids the generator tries
    headers = auth("manager")
    failures, found = [], operations(app)
    assert len(found) >= 35  # every operation of the API
    for operation in found:

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except Exception as exc:  # every failed check, with the request that made it
                failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:900]}")
                raise

        try:
            run()
        except (Exception, BaseExceptionGroup):  # noqa: BLE001 - collected above; every operation is tried
            pass
    assert failures == [], "\n\n".join(failures)


def test_405_names_the_allowed_methods(client, auth):
    r = client.delete("/api/v1/forms", headers=auth("clerk"))
    assert r.status_code == 405 and r.json["code"] == "method_not_allowed"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
