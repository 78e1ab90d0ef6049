"""Pull requests, one at a time: the admin's forms, an import's rows and the API's create/update.

The checks on a pull request's own fields are ``PullRequest.clean()``; no rule reads other rows
(the number's uniqueness in its repository is the database's). ``author`` and ``is_bot`` are
derived (:func:`contributions.services.authors.pull_request_derive`), never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.services import assign, full_clean_with

from ..models import PullRequest, Repository
from .authors import pull_request_derive

PULL_REQUEST_FIELDS = (
    "repository",
    "number",
    "title",
    "url",
    "author_login",
    "created_at",
    "merged_at",
    "is_bot",
)


def _repository_by_full_name(value: Repository | str) -> Repository:
    if isinstance(value, Repository):
        return value
    found = Repository.objects.filter(full_name__iexact=str(value).strip()).first()
    if found is None:
        raise ValidationError({"repository": f"No repository named {value!r}."})
    return found


def pull_request_validate(pull_request: PullRequest) -> None:
    """A number of at least 1, a GitHub login, and no merge before the pull request existed.

    All of a pull request's rules read only its own fields, so they are ``PullRequest.clean()``
    (the bulk upsert checks its rows with the same function); none reads other rows.
    """
    pull_request.clean()


@transaction.atomic
def pull_request_create(
    *,
    repository: Repository | str,
    number: int,
    author_login: str,
    created_at: datetime,
    title: str = "",
    url: str = "",
    merged_at: datetime | None = None,
    is_bot: bool = False,
) -> PullRequest:
    """Record a pull request; ``repository`` is one or its full name. ``author`` is derived."""
    pull_request = PullRequest(
        repository=_repository_by_full_name(repository),
        number=number,
        title=title,
        url=url,
        author_login=author_login,
        created_at=created_at,
        merged_at=merged_at,
        is_bot=is_bot,
    )
    pull_request_derive(pull_request)
    full_clean_with(pull_request, derived={"author"})
    pull_request.save()
    return pull_request


@transaction.atomic
def pull_request_update(*, pull_request: PullRequest, data: Mapping[str, Any]) -> PullRequest:
    """Change the fields named in ``data``; ``author`` is derived from ``author_login``, never set."""
    data = dict(data)
    if "repository" in data:
        data["repository"] = _repository_by_full_name(data["repository"])
    assign(pull_request, data, PULL_REQUEST_FIELDS)
    pull_request_derive(pull_request)
    full_clean_with(pull_request, derived={"author"})
    pull_request.save()
    return pull_request
