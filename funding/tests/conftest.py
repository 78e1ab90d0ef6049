import pytest

# These modules pin how scenarios behave from an empty table (the first one becomes the
# default, and so on); migrations now create base/committed/full, so start them empty.
_FROM_NO_SCENARIOS = {"test_models", "test_services", "test_resources", "test_admin"}


@pytest.fixture(autouse=True)
def _no_migrated_scenarios(request):
    if request.module.__name__.rsplit(".", 1)[-1] not in _FROM_NO_SCENARIOS:
        return
    if "db" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    from funding.models import Scenario
    from opsite.core.recompute import requests_ignored

    request.getfixturevalue("db")
    # Not a change the tests' recompute assertions are about: it must not leave a request on
    # the test's transaction for theirs to join.
    with requests_ignored():
        Scenario.objects.all().delete()
