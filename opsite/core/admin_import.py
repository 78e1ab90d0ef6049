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
* **A preview a person can act on**: how many rows are new, changed and unchanged (skipped), the
  first rows with their changes, and every refused cell in line, with its row, column, value and
  what the column accepts (:mod:`opsite.core.import_report`); a template to download per resource.
* **Big files in the background**: past ``OPSITE_IMPORT_BACKGROUND_ROWS`` rows, the preview and
  the import run as a Celery task, with a progress bar (:mod:`opsite.core.admin_import_jobs`).
* **Import and export pages that answer a bad address with a redirect**, not a 500.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm

from . import import_jobs
from .admin_import_jobs import ImportJobViewsMixin
from .import_jobs import background_rows
from .import_report import build_report
from .imports import ImportRefused, check_size, read_dataset

logger = logging.getLogger(__name__)

CONFIRM_SALT = "opsite.admin.import.confirm"
LOG_BATCH_SIZE = 1000
# A list's ordering parameter: column numbers, each maybe negated, separated by points ("2.-1").
_ORDERING = re.compile(r"-?[0-9]{1,3}(\.-?[0-9]{1,3})*")
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
    """The import form, refusing a file past ``OPSITE_IMPORT_MAX_BYTES`` before it is read.

    The format may be left unchosen: it is then read from the file's name (``.csv``, ``.xlsx``,
    ``.json``), as the page's script does when a file is chosen.
    """

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self._formats = formats
        if len(formats) > 1:
            self.fields["format"].required = False
            self.fields[
                "format"
            ].help_text = "Left at ---, it is read from the file's name (.csv, .xlsx or .json)."

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        if upload is not None and not cleaned.get("format"):
            extension = os.path.splitext(upload.name or "")[1].lower().lstrip(".")
            found = [str(i) for i, f in enumerate(self._formats) if f().get_extension() == extension]
            if not found:
                self.add_error(
                    "format", "Choose the file's format: its name does not end in .csv, .xlsx or .json."
                )
            else:
                cleaned["format"] = found[0]
        return cleaned

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


class GuardedImportExportMixin(ImportJobViewsMixin):
    """The import and export steps of ``ImportExportModelAdmin``, bounded, signed and truthful."""

    import_form_class = BoundedImportForm
    confirm_form_class = SignedConfirmImportForm
    # Each refused row is listed with its column, value and reason on the page (import_report).
    import_error_display = ("message",)

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
        """The upload form, then the preview: a dry run of the file, or a background job for a big one.

        The library's steps, in this order: the file is read within bounds; a file of more than
        ``OPSITE_IMPORT_BACKGROUND_ROWS`` rows goes to a Celery task (:mod:`opsite.core.import_jobs`);
        a smaller one is kept in the temporary folder (for the confirm step) and dry-run here. A
        preview that cannot be confirmed leaves no file behind.
        """
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "GET" and request.GET:
            # The page takes no parameter: an address with some (a format, a resource) is answered
            # with the page without them, as the export page answers its unknown filters.
            return HttpResponseRedirect(request.path)
        form = self.create_import_form(request)
        if request.method != "POST" or not form.is_valid():
            return self._render_import(request, form)
        formats = self.get_import_formats()
        index = int(form.cleaned_data["format"])
        input_format = formats[index]()
        upload = form.cleaned_data["import_file"]
        try:
            data = b"".join(upload.chunks())
            dataset = input_format.create_dataset(data)
        except Exception as error:
            self.add_data_read_fail_error_to_form(form, error)
            return self._render_import(request, form)
        if len(dataset) > background_rows():
            job = import_jobs.start(
                user=request.user,
                model_label=self.model._meta.label,
                data=data,
                extension=input_format.get_extension(),
                original_name=upload.name,
                format_index=index,
                resource_index=self.get_resource_index(form),
                total_rows=len(dataset),
            )
            return HttpResponseRedirect(self._job_url(job, "import_job"))
        storage = self.write_to_tmp_storage(upload, input_format)
        upload.tmp_storage_name = storage.name
        resource = self.choose_import_resource_class(form, request)(
            **self.get_import_resource_kwargs(request, form=form, **kwargs)
        )
        result = resource.import_data(
            dataset,
            dry_run=True,
            raise_errors=False,
            file_name=upload.name,
            user=request.user,
            **self.get_import_data_kwargs(request=request, form=form, **kwargs),
        )
        confirm_form = None
        if result.has_errors() or result.has_validation_errors():
            self._remove_tmp_file(storage.name)  # no confirmation will come for this file
        else:
            confirm_form = self.create_confirm_form(request, import_form=form)
        report = build_report(result, resource, dataset.headers)
        return self._render_import(request, form, result=result, report=report, confirm_form=confirm_form)

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
        if result.has_errors() or result.has_validation_errors():
            resource = self.choose_import_resource_class(confirm_form, request)()
            return self._refused_on_confirm(request, result, build_report(result, resource, dataset.headers))
        return self.process_result(result, request)

    def _create_log_entry(self, user_pk, rows, import_type, action_flag):
        """The admin log entries of one kind of imported row, as the library writes them.

        In one parameterized ``INSERT`` run with ``executemany``, as the demo loader writes its big
        tables: an import of 10,000 rows logs 10,000 entries, and building a ``LogEntry`` and
        preparing each of its values for each row would cost as much as importing the rows. The
        content type, the time and the message are the same for every entry: prepared once.
        """
        if not rows:
            return
        connection = connections[router.db_for_write(LogEntry)]
        opts = LogEntry._meta
        constants = {
            "action_time": opts.get_field("action_time").get_db_prep_save(timezone.now(), connection),
            "user_id": user_pk,
            "content_type_id": ContentType.objects.get_for_model(self.model, for_concrete_model=False).pk,
            "action_flag": action_flag,
            "change_message": str(_("%s through import_export") % import_type),
        }
        names = [*constants, "object_id", "object_repr"]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(opts.db_table)} "
            f"({', '.join(quote(opts.get_field(name).column) for name in names)}) "
            f"VALUES ({', '.join(['%s'] * len(names))})"
        )
        head = tuple(constants.values())
        values = [(*head, str(instance.pk), str(instance)[:200]) for instance in rows]
        # One transaction: in autocommit, SQLite would commit (and sync the disk) once per row.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for start in range(0, len(values), LOG_BATCH_SIZE):
                cursor.executemany(sql, values[start : start + LOG_BATCH_SIZE])

    def _refused_on_confirm(self, request, result, report):
        # The resource base imports all or nothing: one refused row rolled every row back,
        # although the rows before it were counted as "new" or "updated".
        refused = report["problem_count"]
        message = (
            "Nothing was written. The file was checked again when you confirmed the import, and "
            f"{refused} {'problem was' if refused == 1 else 'problems were'} found (listed below; "
            "the records may have changed since the preview). Fix the file and import it again."
        )
        return self._import_page(request, error=message, result=result, report=report, status=200)

    # The page ------------------------------------------------------------------------------------

    def _import_page(self, request, *, error: str, result=None, report=None, status: int = 200):
        """The import page with a fresh form, ``error`` as a message and ``result``'s rows, if any."""
        messages.error(request, error)
        form_class = self.get_import_form_class(request)
        form = form_class(
            self.get_import_formats(),
            self.get_import_resource_classes(request),
            initial=self.get_import_form_initial(request),
        )
        return self._render_import(request, form, result=result, report=report, status=status)

    def _render_import(
        self, request, form, *, result=None, report=None, confirm_form=None, status: int = 200
    ):
        resource_classes = self.get_import_resource_classes(request)
        resource_kwargs = self.get_import_resource_kwargs(request=request, form=form)
        resources = [cls(**resource_kwargs) for cls in resource_classes]
        context = self.get_import_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(
            title=_("Import"),
            form=form,
            opts=self.model._meta,
            media=self.media + form.media,
            # What a file may write: derived and read-only columns are not offered.
            fields_list=[
                (r.get_display_name(), [f.column_name for f in r.get_import_fields()]) for r in resources
            ],
            import_error_display=self.import_error_display,
            templates=self._template_links(resources),
            background_rows=background_rows(),
        )
        if result is not None:
            context["result"] = result
            context["report"] = report
        if confirm_form is not None:
            context["confirm_form"] = confirm_form
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
        ordering = request.GET.get("o")
        if request.method == "GET" and ordering is not None and not _ORDERING.fullmatch(ordering):
            # The list would ignore an ordering that names no column; the export says so instead.
            messages.error(request, "The address held an ordering this list does not have; it was left out.")
            return HttpResponseRedirect(request.path)
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
