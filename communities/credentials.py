"""The credentials of an importer's source, read from the environment variable it names.

A source (:class:`~communities.models.PrometheusSource`, :class:`~communities.models.CostSource`)
stores how to authenticate and the *name* of the variable holding the secret, never the secret:
it is read here, when the importer runs, and goes no further than the HTTP session.
"""

from __future__ import annotations

import os

from requests.auth import AuthBase, HTTPBasicAuth

from .models import PrometheusSource

Auth = PrometheusSource.Auth


def source_credentials(source, *, error: type[Exception]) -> tuple[dict[str, str], AuthBase | None]:
    """``(headers, auth)`` for a session to ``source``; ``error`` naming the variable when it is unset.

    The message names the variable and the source, never a value.
    """
    if source.auth == Auth.NONE:
        return {}, None
    secret = os.environ.get(source.secret_env, "")
    if not secret:
        raise error(
            f"The environment variable {source.secret_env} ({source.get_auth_display()} of "
            f"{source.cluster}) is not set."
        )
    if source.auth == Auth.BEARER:
        return {"Authorization": f"Bearer {secret}"}, None
    return {}, HTTPBasicAuth(source.username, secret)
