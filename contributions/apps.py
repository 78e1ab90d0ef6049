from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _resolve_authors_after_commit(sender, **kwargs):
    # A roster change (a new or corrected GitHub handle) changes which pull requests are
    # ours. staff cannot import contributions (it is the floor below), so the link is here.
    from .services import pull_request_authors_resolve

    transaction.on_commit(pull_request_authors_resolve)


class ContributionsConfig(AppConfig):
    name = "contributions"

    def ready(self) -> None:
        post_save.connect(
            _resolve_authors_after_commit,
            sender="staff.StaffMember",
            dispatch_uid="contributions-authors-save",
        )
        post_delete.connect(
            _resolve_authors_after_commit,
            sender="staff.StaffMember",
            dispatch_uid="contributions-authors-delete",
        )
