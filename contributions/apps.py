from django.apps import AppConfig

from opsite.core.events import ROSTER_CHANGED, subscribe


def _roster_changed() -> None:
    # A roster change (a new or corrected GitHub handle, someone joining or leaving) changes which
    # pull requests are ours. staff cannot import contributions (it is the floor below), so the
    # staff services announce the change and this app re-resolves, once per transaction, after it
    # commits (docs/architecture.md "One write path").
    from .services import pull_request_authors_resolve

    pull_request_authors_resolve()


class ContributionsConfig(AppConfig):
    name = "contributions"

    def ready(self) -> None:
        # Declares the ModelWrites every door (admin, import, API) looks its services up in.
        from . import services  # noqa: F401

        subscribe(ROSTER_CHANGED, _roster_changed)
