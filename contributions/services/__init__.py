"""Writes with business rules for upstream communities, repositories and pull requests.

Every door (the admin, imports, the API, the GitHub importer) writes through these services, so
they refuse the same things with the same messages and derive the same fields
(docs/architecture.md "One write path"). The doors find them through the ``ModelWrites`` declared
below. The package's modules:

* ``upstream``: upstream communities, repositories, and the links between them by GitHub org;
* ``pull_requests``: one pull request at a time;
* ``authors``: a pull request's staff author, derived one row, one batch or the whole table at
  a time (the last after a roster change);
* ``upsert``: the bulk path of the batch endpoint and the GitHub importer.
"""

from __future__ import annotations

from opsite.core.services import ModelWrites

from ..models import (
    AUTHOR_LOGIN_RE,
    GITHUB_LOGIN_RE,
    REPOSITORY_NAME_RE,
    PullRequest,
    Repository,
    SyncRun,
    UpstreamCommunity,
)
from ._base import BATCH_SIZE, BOT_SUFFIX, IN_CHUNK, is_bot_login
from .authors import (
    authors_of_batch,
    pull_request_authors_resolve,
    pull_request_derive,
    staff_by_login,
)
from .pull_requests import (
    PULL_REQUEST_FIELDS,
    pull_request_create,
    pull_request_update,
    pull_request_validate,
)
from .upsert import (
    MAX_PULL_REQUEST_NUMBER,
    UPSERT_KEYS,
    UPSERT_REQUIRED,
    UpsertResult,
    pull_requests_upsert,
)
from .upstream import (
    REPOSITORY_FIELDS,
    UPSTREAM_COMMUNITY_FIELDS,
    repositories_attach,
    repository_create,
    repository_derive,
    repository_name_clash,
    repository_update,
    repository_validate,
    upstream_community_create,
    upstream_community_update,
    upstream_community_validate,
)

__all__ = [
    "AUTHOR_LOGIN_RE",
    "BATCH_SIZE",
    "BOT_SUFFIX",
    "GITHUB_LOGIN_RE",
    "IN_CHUNK",
    "MAX_PULL_REQUEST_NUMBER",
    "PULL_REQUEST_FIELDS",
    "PULL_REQUEST_WRITES",
    "REPOSITORY_FIELDS",
    "REPOSITORY_NAME_RE",
    "REPOSITORY_WRITES",
    "UPSERT_KEYS",
    "UPSERT_REQUIRED",
    "UPSTREAM_COMMUNITY_FIELDS",
    "UPSTREAM_COMMUNITY_WRITES",
    "UpsertResult",
    "authors_of_batch",
    "is_bot_login",
    "pull_request_authors_resolve",
    "pull_request_create",
    "pull_request_derive",
    "pull_request_update",
    "pull_request_validate",
    "pull_requests_upsert",
    "repositories_attach",
    "repository_create",
    "repository_derive",
    "repository_name_clash",
    "repository_update",
    "repository_validate",
    "staff_by_login",
    "upstream_community_create",
    "upstream_community_update",
    "upstream_community_validate",
]

# The services of each model, for every door (docs/adding-a-model.md, step 3). Deleting has no
# rule of its own: the kernel's delete, the database's ``on_delete``, the recompute signals.
UPSTREAM_COMMUNITY_WRITES = ModelWrites(
    model=UpstreamCommunity,
    create=upstream_community_create,
    update=upstream_community_update,
    validate=upstream_community_validate,
    fields=UPSTREAM_COMMUNITY_FIELDS,
)
REPOSITORY_WRITES = ModelWrites(
    model=Repository,
    create=repository_create,
    update=repository_update,
    validate=repository_validate,
    fields=REPOSITORY_FIELDS,
)
# No ``validate``: every rule of a pull request reads only its own fields (``PullRequest.clean()``,
# which the forms run already); ``author`` and ``is_bot`` are derived, so no door passes them.
PULL_REQUEST_WRITES = ModelWrites(
    model=PullRequest,
    create=pull_request_create,
    update=pull_request_update,
    fields=frozenset(PULL_REQUEST_FIELDS),
)


def _written_by_the_importer(**kwargs) -> SyncRun:
    raise TypeError(
        "Sync runs are written by the GitHub importer, never through the admin, an import or the API."
    )


# A sync run is the importer's record: no door creates or edits one (its admin is read-only), but
# an old one may be deleted, through the kernel's plain delete.
SYNC_RUN_WRITES = ModelWrites(model=SyncRun, create=_written_by_the_importer, update=_written_by_the_importer)
