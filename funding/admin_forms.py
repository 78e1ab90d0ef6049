"""Forms and bases shared by the funding admin's modules (``admin.py``, ``admin_restricted.py``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import BaseInlineFormSet

from opsite.core.admin import form_data
from opsite.core.money import ZERO
from opsite.core.services import adopt

from . import services

# --- forms --------------------------------------------------------------------------------------


class ServiceRulesForm(forms.ModelForm):
    """A model form that shows every service message where the user can see it.

    A message on a field the form does not show (an inline row's parent, say) goes to the top of
    the form.
    """

    def add_error(self, field, error):
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            shown = {name for name, f in self.fields.items() if not f.widget.is_hidden}
            remapped: dict[str, list] = {}
            for name, errors in error.error_dict.items():
                key = name if name in shown else NON_FIELD_ERRORS
                remapped.setdefault(key, []).extend(errors)
            error = ValidationError(remapped)
        super().add_error(field, error)


class ScenarioForm(ServiceRulesForm):
    def _get_validation_exclusions(self):
        # Ticking "default" on a second scenario is a switch, done by scenario_save; the
        # one-default constraint would refuse it here before the switch can happen.
        return {*super()._get_validation_exclusions(), "is_default"}


class CappedInlineFormSet(BaseInlineFormSet):
    """Children edited together must fit under their parent's ``amount`` together.

    Each row's own validation sees only the rows already saved, so two new rows entered in one go
    could each pass alone: the set is checked by ``services.children_validate``, and saved by
    ``services.children_save`` (:class:`CappedChildrenAdmin`).
    """

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [form for form in self.forms if form.cleaned_data and not self._should_delete_form(form)]
        try:
            services.children_validate(
                parent=self.instance,
                model=self.model,
                amounts=[form.cleaned_data.get("amount") or ZERO for form in kept],
                edited=[form.instance.pk for form in self.initial_forms],
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class CappedChildrenAdmin:
    """Saves the rows of a :class:`CappedInlineFormSet` as one set (``services.children_save``).

    Row by row in the form's order, a valid set could pass its parent's amount on the way (one
    row raised before another is lowered); the service orders the writes so it never does.
    """

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, CappedInlineFormSet):
            return super().save_formset(request, form, formset, change)
        deleted, changed, added = [], [], []
        for inline_form in formset.initial_forms:
            if inline_form.instance.pk is None:
                continue
            if formset.can_delete and formset._should_delete_form(inline_form):
                deleted.append(inline_form.instance)
            elif inline_form.has_changed():
                changed.append(inline_form)
        for inline_form in formset.extra_forms:
            if inline_form.has_changed() and not (
                formset.can_delete and formset._should_delete_form(inline_form)
            ):
                added.append(inline_form)
        created = services.children_save(
            parent=formset.instance,
            model=formset.model,
            deleted=deleted,
            changed=[(f.instance, form_data(f, changed_only=True)) for f in changed],
            added=[form_data(f, changed_only=False) for f in added],
        )
        for inline_form, row in zip(added, created, strict=True):
            adopt(inline_form.instance, row)
        # What BaseModelFormSet.save leaves behind, for the admin's change message.
        formset.deleted_objects = deleted
        formset.changed_objects = [(f.instance, f.changed_data) for f in changed]
        formset.new_objects = [f.instance for f in added]
