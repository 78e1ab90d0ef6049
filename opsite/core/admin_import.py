"""The admin's import and export pages, hardened (django-import-export's two-step import).

The library's import reads an upload, previews it as a dry run, keeps the file in a temporary
folder and names it in a hidden field of the confirm form; the confirm step imports it for real.
:class:`GuardedImportExportMixin` keeps those steps and adds:

* **Bounds before parsing.** The upload's size is checked by the form, the rows are counted while
  they are read and a zip bomb is refused before it is opened (:mod:`opsite.core.imports`); each
  refusal is an error on the file field naming what is wrong and where, never a 500.
* **A confirm step that imports only what it previewed, for whom it previewed it.** The hidden
  field holds a signed ticket (``django.core.signing``) naming the temporary file, the user, the
  model, the format and the resource, valid for ``OPSITE_IMPORT_CONFIRM_MAX_AGE`` seconds. A
  ticket that was not issued, was issued to someone else or has expired is refused before any
  file is opened or deleted. A ticket is used once: the file is taken before the import starts.
* **A confirm step that reports exactly what was written.** The file is validated again when
  confirmed (the records may have changed since the preview); if any row is then refused, the
  import is rolled back as a whole (the resource base's promise) and the page shows the errors
  and says that nothing was written, never "Import finished".
* **No temporary file left behind** by a preview that cannot be confirmed.
* **An export page that answers a bad address with a redirect**, not a 500.
"""

from __future__ import annotations

import contextlib
import logging
import os

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm

from .imports import ImportRefused, check_size, read_dataset

logger = logging.getLogger(__name__)

CONFIRM_SALT = "opsite.admin.import.confirm"
DEFAULT_CONFIRM_MAX_AGE = 60 * 60

NOT_ISSUED = (
    "This confirmation was not prepared for you by this page, so nothing was imported. Upload the file again."
)
EXPIRED = "This preview is more than {minutes} minutes old, so nothing was imported. Upload the file again."
GONE = (
    "The file of this preview is no longer here (it was already imported, or cleared), so nothing "
    "more was imported. Upload the file again to import it."
)


def confirm_max_age() -> int:
    """Seconds a preview may wait for its confirmation (``OPSITE_IMPORT_CONFIRM_MAX_AGE``)."""
    return getattr(settings, "OPSITE_IMPORT_CONFIRM_MAX_AGE", DEFAULT_CONFIRM_MAX_AGE)


# --- formats: read through opsite.core.imports ----------------------------------------------------


class _BoundedFormat:
    """An import format read by :func:`opsite.core.imports.read_dataset` from the file's bytes.

    Binary for the library, so the bytes reach the reader undecoded: the reader decodes text
    itself and names the line of a bad byte (the library would fail with "UnicodeDecodeError").
    """

    key = ""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode()
        return read_dataset(in_stream, self.key)


class BoundedCSV(_BoundedFormat, base_formats.CSV):
    key = "csv"


class BoundedXLSX(_BoundedFormat, base_formats.XLSX):
    key = "xlsx"


class BoundedJSON(_BoundedFormat, base_formats.JSON):
    key = "json"


BOUNDED_FORMATS = {
    base_formats.CSV: BoundedCSV,
    base_formats.XLSX: BoundedXLSX,
    base_formats.JSON: BoundedJSON,
}


# --- forms ---------------------------------------------------------------------------------------


class BoundedImportForm(ImportForm):
    """The import form, refusing a file past ``OPSITE_IMPORT_MAX_BYTES`` before it is read."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            check_size(upload.size)
        except ImportRefused as error:
            raise ValidationError(str(error), code="too_large") from None
        return upload


class SignedConfirmImportForm(ConfirmImportForm):
    """The confirm form: its ``import_file_name`` is a signed ticket, checked before any file is read.

    Once valid, ``cleaned_data`` holds what the ticket says (the file name, format, resource and
    original name), never what was posted next to it.
    """

    def __init__(self, *args, user=None, model_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.model_label = model_label

    def clean_import_file_name(self):
        # The library takes the basename of a posted file name; here it is a ticket, kept whole.
        return self.cleaned_data["import_file_name"]

    def clean(self):
        cleaned = super().clean()
        token = cleaned.get("import_file_name")
        if not token:
            raise ValidationError(NOT_ISSUED, code="not_issued")
        try:
            ticket = signing.loads(token, salt=CONFIRM_SALT, max_age=confirm_max_age())
        except signing.SignatureExpired:
            raise ValidationError(
                EXPIRED.format(minutes=max(confirm_max_age() // 60, 1)), code="expired"
            ) from None
        except signing.BadSignature:
            raise ValidationError(NOT_ISSUED, code="not_issued") from None
        expected = {"user": getattr(self.user, "pk", None), "model": self.model_label}
        if not isinstance(ticket, dict) or any(ticket.get(key) != value for key, value in expected.items()):
            raise ValidationError(NOT_ISSUED, code="not_issued")
        cleaned.update(
            import_file_name=ticket["name"],
            original_file_name=ticket["original"],
            format=ticket["format"],
            resource=ticket["resource"],
        )
        return cleaned


def issue_ticket(*, user, model_label: str, name: str, original: str, fmt: str, resource: str) -> str:
    """The signed ticket of one previewed file, for one user and one model's import."""
    return signing.dumps(
        {
            "user": user.pk,
            "model": model_label,
            "name": os.path.basename(name),
            "original": original,
            "format": str(fmt),
            "resource": str(resource or "0"),
        },
        salt=CONFIRM_SALT,
    )


# --- the mixin -----------------------------------------------------------------------------------


class GuardedImportExportMixin:
    """The import and export steps of ``ImportExportModelAdmin``, bounded, signed and truthful."""

    import_form_class = BoundedImportForm
    confirm_form_class = SignedConfirmImportForm

    def get_import_formats(self):
        return [BOUNDED_FORMATS.get(f, f) for f in super().get_import_formats()]

    # The preview step ----------------------------------------------------------------------------

    def write_to_tmp_storage(self, import_file, input_format):
        # The library appends chunk to chunk (quadratic on a large file); the bytes are kept as
        # they came, for the reader to decode.
        storage = self.get_tmp_storage_class()(
            encoding=None, read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )
        storage.save(b"".join(import_file.chunks()))
        return storage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportRefused):
            form.add_error("import_file", str(e))
            return
        logger.exception("import file could not be read (%s)", self.model._meta.label)
        form.add_error(
            "import_file",
            "The file cannot be read in the chosen format. Check that the format matches the file.",
        )

    def get_confirm_form_kwargs(self, request, import_form=None):
        kwargs = super().get_confirm_form_kwargs(request, import_form)
        kwargs.update(user=request.user, model_label=self.model._meta.label)
        return kwargs

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is None:
            return initial
        initial["import_file_name"] = issue_ticket(
            user=request.user,
            model_label=self.model._meta.label,
            name=initial["import_file_name"],
            original=initial["original_file_name"],
            fmt=initial["format"],
            resource=initial.get("resource", ""),
        )
        return initial

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if context.get("confirm_form") is None:
            # No confirmation will come for this file: the library would leave it in the folder.
            form = context.get("form")
            upload = (getattr(form, "cleaned_data", None) or {}).get("import_file")
            name = getattr(upload, "tmp_storage_name", None)
            if name:
                self._remove_tmp_file(name)
        return response

    # The confirm step ----------------------------------------------------------------------------

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Import the previewed file, if the ticket is valid; report what was written, or nothing."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            errors = confirm_form.non_field_errors() or [NOT_ISSUED]
            return self._import_page(request, error=errors[0], status=400)
        ticket = confirm_form.cleaned_data
        import_formats = self.get_import_formats()
        index = int(ticket["format"])
        if not 0 <= index < len(import_formats):
            return self._import_page(request, error=NOT_ISSUED, status=400)
        storage = self._tmp_storage(ticket["import_file_name"])
        try:
            content = storage.read()
            # Taken before the import starts: a second confirmation of the same preview (a double
            # click, a replayed form) finds no file and imports nothing.
            storage.remove()
        except OSError:
            content = None
        if content is None:  # a cache storage answers None for a missing file
            return self._import_page(request, error=GONE, status=400)
        try:
            dataset = import_formats[index]().create_dataset(content)
        except ImportRefused as error:  # the bounds changed between the two steps
            return self._import_page(request, error=str(error), status=400)
        result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        return self.process_result(result, request)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The resource base imports all or nothing: one refused row rolled every row back,
            # although the rows before it were counted as "new" or "updated".
            refused = len(result.invalid_rows) + sum(len(errors) for _, errors in result.row_errors())
            refused += len(result.base_errors)
            message = (
                "Nothing was written. The file was checked again when you confirmed the import, and "
                f"{refused} {'problem was' if refused == 1 else 'problems were'} found (listed below; "
                "the records may have changed since the preview). Fix the file and import it again."
            )
            return self._import_page(request, error=message, result=result, status=200)
        return super().process_result(result, request)

    def _import_page(self, request, *, error: str, result=None, status: int = 200):
        """The import page with a fresh form, ``error`` as a message and ``result``'s rows, if any."""
        messages.error(request, error)
        form_class = self.get_import_form_class(request)
        form = form_class(
            self.get_import_formats(),
            self.get_import_resource_classes(request),
            initial=self.get_import_form_initial(request),
        )
        resource_kwargs = self.get_import_resource_kwargs(request=request, form=form)
        resources = [cls(**resource_kwargs) for cls in self.get_import_resource_classes(request)]
        context = self.get_import_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(
            title=_("Import"),
            form=form,
            opts=self.model._meta,
            media=self.media + form.media,
            fields_list=[
                (r.get_display_name(), [f.column_name for f in r.get_user_visible_fields()])
                for r in resources
            ],
            import_error_display=self.import_error_display,
        )
        if result is not None:
            context["result"] = result
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context, status=status)

    def _tmp_storage(self, name: str):
        return self.get_tmp_storage_class()(
            name=name, encoding=None, read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )

    def _remove_tmp_file(self, name: str) -> None:
        with contextlib.suppress(OSError):
            self._tmp_storage(os.path.basename(name)).remove()

    # The export page -----------------------------------------------------------------------------

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # A parameter the list does not know (``?format=0``): the changelist answers it with
            # a redirect; so does its export, to the page without the parameters.
            messages.error(
                request,
                "The address held a filter this list does not have; it was left out. "
                "Choose the filters on the list, then export.",
            )
            return HttpResponseRedirect(request.path)
