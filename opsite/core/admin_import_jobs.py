"""The admin pages around an import: its template to download, and its background job.

Mixed into every import admin by :class:`opsite.core.admin_import.GuardedImportExportMixin`, under
the model's own admin address (``/admin/<app>/<model>/import/...``):

* ``template/?resource=N``: the CSV template of the resource (:mod:`opsite.core.import_templates`);
* ``job/<id>/``: a background job's page: a progress bar while it runs (a small script polls
  ``status.json``, no library), then its report: the preview with a button to confirm, or what
  was written, or the rows to fix;
* ``job/<id>/status.json``: the job's state and progress;
* ``job/<id>/confirm/``: start the import of a previewed job (POST).

A job is seen only by its user, and by superusers; anyone else is answered 404, as for a job
that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_POST

from . import import_jobs
from .import_templates import template_csv
from .models import ImportJob

# Seconds between two polls of a running job's status.
POLL_SECONDS = 1


class ImportJobViewsMixin:
    """The template and background-job pages of a model's import (see the module)."""

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("import/template/", view(self.import_template_view), name=f"{name}_import_template"),
            path("import/progress.js", view(self.import_progress_script), name=f"{name}_import_progress_js"),
            path("import/job/<int:job_id>/", view(self.import_job_view), name=f"{name}_import_job"),
            path(
                "import/job/<int:job_id>/status.json",
                view(self.import_job_status_view),
                name=f"{name}_import_job_status",
            ),
            path(
                "import/job/<int:job_id>/confirm/",
                view(self.import_job_confirm_view),
                name=f"{name}_import_job_confirm",
            ),
            *super().get_urls(),
        ]

    def _admin_url(self, view: str, *args) -> str:
        opts = self.model._meta
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def _job_url(self, job: ImportJob, view: str) -> str:
        return self._admin_url(view, job.pk)

    def _template_links(self, resources) -> list[tuple[str, str]]:
        """(resource name, template address) of each import resource."""
        base = self._admin_url("import_template")
        return [
            (resource.get_display_name(), f"{base}?resource={index}")
            for index, resource in enumerate(resources)
        ]

    # --- the template ------------------------------------------------------------------------------

    @method_decorator(require_GET)
    def import_template_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        classes = self.get_import_resource_classes(request)
        unknown = set(request.GET) - {"resource"}
        raw = request.GET.get("resource", "0")
        if unknown or not raw.isascii() or not raw.isdigit() or int(raw) >= len(classes):
            return HttpResponseBadRequest(
                f"Unknown template: ask for resource=0 to {len(classes) - 1}.", content_type="text/plain"
            )
        resource = classes[int(raw)](**self.get_import_resource_kwargs(request))
        response = HttpResponse(template_csv(resource), content_type="text/csv; charset=utf-8")
        filename = f"{self.model._meta.model_name}-import-template.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    # --- background jobs ---------------------------------------------------------------------------

    def _visible_job(self, request, job_id: int) -> ImportJob:
        if not self.has_import_permission(request):
            raise PermissionDenied
        job = import_jobs.visible_job(request.user, job_id, self.model._meta.label)
        if job is None:
            raise Http404("No such import.")
        return job

    @method_decorator(require_GET)
    def import_job_view(self, request, job_id: int):
        job = self._visible_job(request, job_id)
        if job.stage == ImportJob.Stage.PREVIEW and job.state == ImportJob.State.SUCCEEDED:
            import_jobs.expire_stale()
            job.refresh_from_db()
        context = self.admin_site.each_context(request)
        context.update(
            title=f"Import of {job.original_name or 'a file'}",
            opts=self.model._meta,
            job=job,
            status=import_jobs.status(job),
            report=job.report or {},
            status_url=self._job_url(job, "import_job_status"),
            confirm_url=self._job_url(job, "import_job_confirm"),
            import_url=self._admin_url("import"),
            changelist_url=self._admin_url("changelist"),
            script_url=self._admin_url("import_progress_js"),
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, ["admin/import_export/import_job.html"], context)

    @method_decorator(require_GET)
    def import_job_status_view(self, request, job_id: int):
        job = self._visible_job(request, job_id)
        answer = import_jobs.status(job)
        answer["url"] = self._job_url(job, "import_job")
        return JsonResponse(answer, headers={"Cache-Control": "no-store"})

    @method_decorator(require_POST)
    def import_job_confirm_view(self, request, job_id: int):
        job = self._visible_job(request, job_id)
        if not import_jobs.confirm(job):
            messages.error(
                request,
                "This preview can no longer be confirmed (it was confirmed already, or it expired); "
                "nothing more was imported. Upload the file again to import it.",
            )
        return HttpResponseRedirect(self._job_url(job, "import_job"))

    @method_decorator(require_GET)
    def import_progress_script(self, request):
        """The polling script of a job's page, served by the site itself (no inline script runs)."""
        script = render_to_string("admin/import_export/import_progress.js", {"poll_ms": POLL_SECONDS * 1000})
        return HttpResponse(
            script, content_type="text/javascript; charset=utf-8", headers={"Cache-Control": "max-age=3600"}
        )
