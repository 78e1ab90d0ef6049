"""Calling every operation of the OpenAPI schema as one persona, with schemathesis.

Shared by the in-process run (``test_schemathesis``) and the run against a live gunicorn on
PostgreSQL (``test_schemathesis_live``). Bounded: a few examples per operation, no shrinking,
derandomized (the same requests every run).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES_PER_OPERATION = 3
CHECKS = [not_a_server_error, response_schema_conformance]
# Paths whose parameters cannot be generated: a repository's key is "org/name", and generated path
# parameters never hold a slash. The role matrix covers who may call them; the app, what they do.
NOT_GENERATABLE = {"/api/v1/contributions/repositories/{full_name}/"}
PERSONAS = ("anonymous", "operations", "finance", "leadership", "superuser")
ROLE_USERS = {
    "operations": "matrix-ops",
    "finance": "matrix-fin",
    "leadership": "matrix-lead",
    "superuser": "matrix-root",
}


def headers_for(persona: str) -> dict[str, str]:
    """A persona's request headers: its API token (writes by token need no CSRF token)."""
    if persona == "anonymous":
        return {}
    user = get_user_model().objects.get(username=ROLE_USERS[persona])
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


@dataclass
class Probe:
    """What calling the operations as one persona found: failures by operation, statuses seen."""

    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    requests: int = 0

    def run(self, operation, headers: dict[str, str], **call_kwargs: Any) -> None:
        """Call ``operation`` with generated requests, valid and not; note its first failure."""

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            if operation.label in self.failures:
                return
            try:
                response = case.call(headers=headers, **call_kwargs)
                self.requests += 1
                self.statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)
            # A check's failure group (a BaseExceptionGroup), or an exception the call raised.
            except (Exception, BaseExceptionGroup) as error:
                self.failures[operation.label] = f"{operation.label}: {str(error).strip()[:1500]}"

        try:
            call()
        except Unsatisfiable:
            self.failures[operation.label] = f"{operation.label}: no request could be generated"

    def run_all(self, schema, headers: dict[str, str], **call_kwargs: Any) -> int:
        """Call every generatable operation of ``schema``: how many there were."""
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            if operation.path not in NOT_GENERATABLE:
                self.run(operation, headers, **call_kwargs)
        return len(operations)

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return f"{self.requests} requests ({statuses}), {len(self.failures)} operations failed"
