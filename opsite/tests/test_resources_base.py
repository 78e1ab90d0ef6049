"""The shared import/export pieces: strict widgets, natural keys, and formula neutralization.

Every refusal is a ``ValueError`` whose message names the value (and, for relations, the model
and field), because that message is what the person who wrote the file reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from import_export import fields

from communities.models import Community, Hub, Network
from communities.tests.factories import CommunityFactory, HubFactory, NetworkFactory
from contributions.models import Repository
from opsite.core.resources import (
    FORMULA_TRIGGERS,
    CommaListWidget,
    ImportFailed,
    NaturalKeyResource,
    NaturalKeysWidget,
    NaturalKeyWidget,
    OpsiteResource,
    RowError,
    StrictBooleanWidget,
    StrictDecimalWidget,
    StrictIntegerWidget,
    import_file,
    neutralize_formula,
    restore_formula,
)

# --- formulas ----------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_a_text_starting_with_a_formula_trigger_gets_a_leading_quote(trigger):
    assert neutralize_formula(f"{trigger}SUM(A1)") == f"'{trigger}SUM(A1)"


@pytest.mark.parametrize("text", ["", "plain", "a=b", "'quoted", "'", "1-2"])
def test_a_text_a_spreadsheet_would_not_evaluate_is_left_as_written(text):
    assert neutralize_formula(text) == text
    assert restore_formula(text) == text


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_restoring_removes_exactly_the_quote_that_neutralizing_added(trigger):
    assert restore_formula(f"'{trigger}1") == f"{trigger}1"
    assert restore_formula(f"''{trigger}1") == f"'{trigger}1"


def test_a_text_that_already_reads_as_a_quoted_formula_gets_one_more_quote():
    # Otherwise the import would strip the quote its writer typed.
    assert neutralize_formula("'=1+1") == "''=1+1"


@given(st.text())
def test_every_text_comes_back_from_neutralizing_and_restoring_as_written(text):
    assert restore_formula(neutralize_formula(text)) == text


@given(st.text())
def test_no_neutralized_text_starts_with_a_formula_trigger(text):
    assert not neutralize_formula(text).startswith(FORMULA_TRIGGERS)


# --- yes/no -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("yes", True),
        (" TRUE ", True),
        ("Y", True),
        (1, True),
        (True, True),
        ("0", False),
        ("No", False),
        ("false", False),
        ("n", False),
        (0, False),
        (False, False),
    ],
)
@pytest.mark.parametrize("null", [True, False])
def test_a_yes_no_cell_is_read_in_any_usual_spelling(value, expected, null):
    assert StrictBooleanWidget(null=null).clean(value) is expected


@pytest.mark.parametrize("value", [None, "", "  ", "null", "None"])
def test_an_empty_yes_no_cell_of_a_nullable_field_is_unknown(value):
    assert StrictBooleanWidget(null=True).clean(value) is None


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_empty_yes_no_cell_of_a_field_that_cannot_be_empty_is_no(value):
    assert StrictBooleanWidget(null=False).clean(value) is False


@pytest.mark.parametrize(
    ("null", "value", "message"),
    [
        (True, "maybe", "'maybe' is not yes or no; use 1 or 0 (or leave it empty)."),
        (True, 2, "2 is not yes or no; use 1 or 0 (or leave it empty)."),
        (False, "maybe", "'maybe' is not yes or no; use 1 or 0."),
        (False, "null", "'null' is not yes or no; use 1 or 0."),
    ],
)
def test_a_yes_no_cell_that_is_neither_is_refused_by_its_value(null, value, message):
    with pytest.raises(ValueError) as exc:
        StrictBooleanWidget(null=null).clean(value)
    assert str(exc.value) == message


def test_yes_and_no_are_exported_as_1_and_0():
    widget = StrictBooleanWidget(null=True)
    assert [widget.render(True), widget.render(False), widget.render(None)] == ["1", "0", ""]


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("42", 42), (" -3 ", -3), (7.0, 7), (0, 0), ("", None), (None, None)]
)
def test_a_whole_number_cell_is_read_from_text_or_a_spreadsheet_number(value, expected):
    assert StrictIntegerWidget().clean(value) == expected


@pytest.mark.parametrize("value", ["x", "2.5", 2.5, "1e3", "+-1", "1 000"])
def test_a_cell_that_is_not_a_whole_number_is_refused_by_its_value(value):
    with pytest.raises(ValueError) as exc:
        StrictIntegerWidget().clean(value)
    assert str(exc.value) == f"{value!r} is not a whole number."


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234.50", Decimal("1234.50")), (0.1, Decimal("0.1")), (" 7 ", Decimal("7")), ("", None)],
)
def test_a_money_cell_is_read_exactly_never_through_binary_noise(value, expected):
    assert StrictDecimalWidget().clean(value) == expected


def test_a_money_cell_with_a_thousands_separator_is_refused_not_guessed():
    # "1,5" would read as 15 with the comma dropped; neither it nor "1,234.50" is guessed at.
    for value in ("1,5", "1,234.50"):
        with pytest.raises(ValueError, match="no thousands separators"):
            StrictDecimalWidget().clean(value)


def test_a_money_cell_that_is_not_a_number_is_refused_by_its_value():
    with pytest.raises(ValueError) as exc:
        StrictDecimalWidget().clean("lots")
    assert str(exc.value) == "'lots' is not a number."


# --- lists in one cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jupyter, jupyterlab,,jupyter-server ", ["jupyter", "jupyterlab", "jupyter-server"]),
        (["pangeo-data", " ", " x "], ["pangeo-data", "x"]),
        ("", []),
        (None, []),
    ],
)
def test_a_comma_list_is_read_from_text_or_a_json_list(value, expected):
    assert CommaListWidget().clean(value) == expected


def test_a_comma_list_is_written_as_one_cell():
    assert CommaListWidget().render(["executablebooks", "jupyter-book"]) == "executablebooks, jupyter-book"
    assert CommaListWidget().render(None) == ""


# --- relations by natural key -----------------------------------------------------------------------

pytest_db = pytest.mark.django_db


@pytest_db
def test_a_relation_is_found_by_its_natural_key_in_one_query(django_assert_num_queries):
    community = CommunityFactory(slug="north")
    widget = NaturalKeyWidget(Community, "slug")
    with django_assert_num_queries(1):
        assert widget.clean(" north ") == community
    assert widget.render(community) == "north"


@pytest_db
@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_empty_relation_cell_is_no_relation(value, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert NaturalKeyWidget(Community, "slug").clean(value) is None


@pytest_db
def test_an_unknown_natural_key_is_refused_naming_the_model_field_and_value():
    with pytest.raises(ValueError) as exc:
        NaturalKeyWidget(Community, "slug").clean("atlantis")
    assert str(exc.value) == "no community with slug 'atlantis'."


@pytest_db
def test_the_unknown_key_message_may_be_worded_by_the_resource():
    widget = NaturalKeyWidget(Community, "slug", unknown_message="There is no {name} with {field} {key!r}.")
    with pytest.raises(ValueError) as exc:
        widget.clean("atlantis")
    assert str(exc.value) == "There is no community with slug 'atlantis'."


@pytest_db
def test_a_case_insensitive_natural_key_is_found_whatever_its_case():
    repository = Repository.objects.create(full_name="jupyterhub/binderhub")
    assert (
        NaturalKeyWidget(Repository, "full_name", case_insensitive=True).clean("JupyterHub/BinderHub")
        == repository
    )
    with pytest.raises(ValueError) as exc:
        NaturalKeyWidget(Repository, "full_name").clean("JupyterHub/BinderHub")
    assert str(exc.value) == "no repository with full_name 'JupyterHub/BinderHub'."


@pytest_db
def test_many_natural_keys_are_read_in_the_order_written_once_each_in_one_query(django_assert_num_queries):
    afr, eur = NetworkFactory(slug="afr"), NetworkFactory(slug="eur")
    widget = NaturalKeysWidget(Network, field="slug")
    with django_assert_num_queries(1):
        assert widget.clean("eur, afr,eur,") == [eur, afr]
    assert widget.clean(["afr"]) == [afr]
    assert widget.clean("") == []


@pytest_db
def test_every_unknown_key_of_a_list_is_named():
    NetworkFactory(slug="afr")
    with pytest.raises(ValueError) as exc:
        NaturalKeysWidget(Network, field="slug").clean("nowhere,afr,atlantis")
    assert str(exc.value) == "no network with slug 'nowhere', 'atlantis'."


@pytest_db
def test_many_natural_keys_are_exported_sorted():
    community = CommunityFactory(networks=[NetworkFactory(slug="eur"), NetworkFactory(slug="afr")])
    assert NaturalKeysWidget(Network, field="slug").render(community.networks) == "afr,eur"
    assert NaturalKeysWidget(Network, field="slug").render(None) == ""


# --- resources matched by natural key ---------------------------------------------------------------


class HubByCommunityResource(NaturalKeyResource):
    """Hubs matched by (community slug, hub slug): an import id that holds a relation."""

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, "slug")
    )

    class Meta(OpsiteResource.Meta):
        model = Hub
        fields = ("community", "slug", "name", "provider", "launched_on")
        import_id_fields = ("community", "slug")


class CommunityNetworksResource(NaturalKeyResource):
    """A community's networks, written as slugs in one cell."""

    networks = fields.Field(
        attribute="networks", column_name="networks", widget=NaturalKeysWidget(Network, field="slug")
    )

    class Meta(OpsiteResource.Meta):
        model = Community
        fields = ("slug", "networks")
        import_id_fields = ("slug",)


HUB_HEADER = "community,slug,name,provider,launched_on\n"


@pytest_db
def test_an_import_id_naming_an_unknown_relation_is_an_error_on_its_column_and_nothing_is_written():
    CommunityFactory(slug="north")
    content = HUB_HEADER + "north,h-1,One,gcp,2024-01-01\natlantis,h-2,Two,gcp,2024-01-01\n"
    with pytest.raises(ImportFailed) as exc:
        import_file(HubByCommunityResource(), content, "csv")
    assert exc.value.errors == [RowError(2, "community", "no community with slug 'atlantis'.")]
    assert not Hub.objects.exists()


@pytest_db
def test_a_row_matched_by_a_known_relation_updates_that_row():
    hub = HubFactory(slug="h-1", community=CommunityFactory(slug="north"), name="Old")
    import_file(HubByCommunityResource(), HUB_HEADER + "north,h-1,New,gcp,2024-01-01\n", "csv")
    hub.refresh_from_db()
    assert (hub.name, hub.launched_on, Hub.objects.count()) == ("New", dt.date(2024, 1, 1), 1)


@pytest_db
def test_an_unknown_key_in_a_list_cell_is_an_error_on_its_column_and_nothing_is_linked():
    NetworkFactory(slug="afr")
    CommunityFactory(slug="north")
    CommunityFactory(slug="south")
    content = 'slug,networks\nnorth,afr\nsouth,"afr,nowhere"\n'
    with pytest.raises(ImportFailed) as exc:
        import_file(CommunityNetworksResource(), content, "csv")
    assert exc.value.errors == [RowError(2, "networks", "no network with slug 'nowhere'.")]
    assert not Community.networks.through.objects.exists()


@pytest_db
def test_known_keys_in_a_list_cell_are_linked():
    NetworkFactory(slug="afr")
    NetworkFactory(slug="eur")
    community = CommunityFactory(slug="north")
    import_file(CommunityNetworksResource(), 'slug,networks\nnorth,"eur,afr"\n', "csv")
    assert sorted(community.networks.values_list("slug", flat=True)) == ["afr", "eur"]
