"""Upstream communities and their repositories: the org each community claims, and the links.

An upstream community claims GitHub organizations; a repository belongs to the community that
claims its org unless one was chosen by hand. Both links are kept here, once: when a repository
is written (its community derived from its org) and when a community starts claiming an org (its
loose repositories attached, :func:`repositories_attach`), whichever door the write came in by.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opsite.core.recompute import ROLLUPS, request_recompute
from opsite.core.services import assign, by_natural_key, full_clean_with

from ..models import Repository, UpstreamCommunity

UPSTREAM_COMMUNITY_FIELDS = frozenset({"slug", "name", "github_orgs", "is_key"})
REPOSITORY_FIELDS = frozenset({"full_name", "upstream_community"})


def org_owners(*, exclude_pk: int | None = None) -> dict[str, UpstreamCommunity]:
    """Map each lower-cased GitHub org to the upstream community that claims it (one query)."""
    owners: dict[str, UpstreamCommunity] = {}
    communities = UpstreamCommunity.objects.only("pk", "slug", "name", "github_orgs").order_by("pk")
    if exclude_pk is not None:
        communities = communities.exclude(pk=exclude_pk)
    for community in communities:
        for org in community.github_orgs or []:
            if isinstance(org, str):
                owners.setdefault(org.lower(), community)
    return owners


def _upstream_community_by_slug(value: UpstreamCommunity | str | None) -> UpstreamCommunity | None:
    if value is None:
        return None
    return by_natural_key(UpstreamCommunity, value, key="slug", field="upstream_community")


# --- upstream communities --------------------------------------------------------------------


def upstream_community_validate(upstream_community: UpstreamCommunity) -> None:
    """An org belongs to one upstream community at most, whatever its letter case.

    The shape of each org (a GitHub login, listed once) is the model's own check, ``clean()``.
    """
    orgs = [org for org in upstream_community.github_orgs or [] if isinstance(org, str)]
    if not orgs:
        return
    owners = org_owners(exclude_pk=upstream_community.pk)
    taken = [
        f"The GitHub organization {org!r} already belongs to the upstream community "
        f"{owners[org.lower()].name!r} ({owners[org.lower()].slug})."
        for org in orgs
        if org.lower() in owners
    ]
    if taken:
        raise ValidationError({"github_orgs": taken})


def repositories_attach(*, upstream_community: UpstreamCommunity) -> int:
    """Give repositories with no upstream community the one that now claims their org.

    A repository whose community was chosen by hand keeps it. Returns the number attached.
    Called by the upstream community services only, whenever the orgs a community claims are
    written: one UPDATE of the loose repositories, and a recompute request that joins the
    transaction's one.
    """
    orgs = [org for org in upstream_community.github_orgs or [] if isinstance(org, str) and org]
    if not orgs:
        return 0
    of_these_orgs = reduce(or_, (Q(full_name__istartswith=f"{org}/") for org in orgs))
    attached = (
        Repository.objects.filter(upstream_community__isnull=True)
        .filter(of_these_orgs)
        .update(upstream_community=upstream_community, updated_at=timezone.now())
    )
    if attached:
        # QuerySet.update sends no signals: the contribution figures must be told.
        request_recompute(ROLLUPS)
    return attached


@transaction.atomic
def upstream_community_create(
    *, slug: str, name: str, github_orgs: list[str] | None = None, is_key: bool = True
) -> UpstreamCommunity:
    """Record an upstream community; repositories of its orgs that had no community join it."""
    upstream_community = UpstreamCommunity(
        slug=slug, name=name, github_orgs=[] if github_orgs is None else github_orgs, is_key=is_key
    )
    full_clean_with(upstream_community, upstream_community_validate)
    upstream_community.save()
    repositories_attach(upstream_community=upstream_community)
    return upstream_community


@transaction.atomic
def upstream_community_update(
    *, upstream_community: UpstreamCommunity, data: Mapping[str, Any]
) -> UpstreamCommunity:
    """Change the fields named in ``data``; repositories of newly listed orgs join the community."""
    assign(upstream_community, data, UPSTREAM_COMMUNITY_FIELDS)
    full_clean_with(upstream_community, upstream_community_validate)
    upstream_community.save()
    # Named, not compared: a door may hand over an instance its form has already changed. The
    # attach touches only repositories that have no community, so running it again is harmless.
    if "github_orgs" in data:
        repositories_attach(upstream_community=upstream_community)
    return upstream_community


# --- repositories ----------------------------------------------------------------------------


def repository_derive(repository: Repository) -> None:
    """Trim the name and, when none is set, take the upstream community from the org (one query)."""
    repository.full_name = (repository.full_name or "").strip()
    if repository.upstream_community_id is None and "/" in repository.full_name:
        repository.upstream_community = org_owners().get(repository.org.lower())


def repository_name_clash(full_name: str, *, exclude_pk: int | None = None) -> str | None:
    """The message refusing ``full_name`` when another repository has it in any letter case.

    ``None`` when the name is free. The admin's form asks it for its field too, before the
    database's case-insensitive unique constraint would answer with a message naming no row.
    """
    full_name = (full_name or "").strip()
    existing = (
        Repository.objects.filter(full_name__iexact=full_name)
        .exclude(pk=exclude_pk)
        .values_list("full_name", flat=True)
        .first()
    )
    if existing is None:
        return None
    return (
        f"The repository {existing!r} already exists "
        f"(repository names are case-insensitive, so {full_name!r} is the same one)."
    )


def repository_validate(repository: Repository) -> None:
    """``full_name`` is unique whatever its case. Its ``org/name`` shape is the model's ``clean()``."""
    clash = repository_name_clash(repository.full_name, exclude_pk=repository.pk)
    if clash is not None:
        raise ValidationError({"full_name": clash})


@transaction.atomic
def repository_create(
    *, full_name: str, upstream_community: UpstreamCommunity | str | None = None
) -> Repository:
    """Create a repository; without an upstream community, the one claiming its org is used."""
    repository = Repository(
        full_name=full_name, upstream_community=_upstream_community_by_slug(upstream_community)
    )
    repository_derive(repository)
    full_clean_with(repository, repository_validate)
    repository.save()
    return repository


@transaction.atomic
def repository_update(*, repository: Repository, data: Mapping[str, Any]) -> Repository:
    """Change the fields named in ``data`` (any of :data:`REPOSITORY_FIELDS`).

    A repository left without an upstream community takes the one claiming its org.
    """
    data = dict(data)
    if "upstream_community" in data:
        data["upstream_community"] = _upstream_community_by_slug(data["upstream_community"])
    assign(repository, data, REPOSITORY_FIELDS)
    repository_derive(repository)
    full_clean_with(repository, repository_validate)
    repository.save()
    return repository
