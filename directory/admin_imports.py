"""Directory imports from the admin: upload a CSV or JSON file, follow the job's progress, read the rows that
failed.

The upload goes through the same service as the API and ``manage.py directory_import``
(:func:`directory.services.import_jobs.import_job_create`): the file is read once as a whole (a problem
with it is shown on the form, nothing is recorded), the kinds it holds are checked against the uploader's
rights (an import creates and updates, so each kind takes both its add and change rights), and the job
runs on the default queue. The job's page polls a small status fragment (htmx) that shows the progress
the job has committed, chunk by chunk, and the per-row error report; it stops polling once the job has
finished. (Where tasks run in process, as in the embedded default, the job has run when the page opens.)
"""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from directory.exceptions import ImportFileInvalid, ImportNotPermitted
from directory.imports.rows import KINDS
from directory.models import ImportJob, ImportJobStatus
from directory.services.import_jobs import IMPORT_PERMISSIONS, import_job_create

__all__ = ["MAX_UPLOAD_BYTES", "ImportJobAdmin", "ImportUploadForm"]

#: The largest file imported from the browser (as the API); larger ones: ``manage.py directory_import``.
MAX_UPLOAD_BYTES: Final = 20 * 1024 * 1024
#: How often the job's page asks for its progress while the job runs.
POLL_EVERY: Final = "1s"
VIEW_ALL_IMPORTS: Final = "directory.view_importjob"


def may_import(request: HttpRequest) -> bool:
    """The add and change rights of at least one kind (the service checks every kind the file holds)."""
    return any(request.user.has_perms(perms) for perms in IMPORT_PERMISSIONS.values())


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (one kind, told by its columns) or JSON (a list, or users, devices and groups lists). "
        f"At most {MAX_UPLOAD_BYTES // 2**20} MiB."
    )
    kind = forms.ChoiceField(
        choices=[("auto", "Tell by the columns"), *((kind, kind.capitalize()) for kind in KINDS)],
        initial="auto",
        help_text="What the rows are; a combined JSON file holds several kinds.",
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("auto", "Tell by the file name"), ("csv", "CSV"), ("json", "JSON")],
        initial="auto",
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Check and count what the rows would do; write nothing."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB; import it with "
                "manage.py directory_import."
            )
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("import_name", "created_on", "status_badge", "progress", "outcome")
    list_display_links = ("import_name",)
    list_filter = ("status", "dry_run")
    search_fields = ("requested_by", "file_name")
    fields = (
        "status", "requested_by", "dry_run", "file_name", "file_size", "kinds", "rows_total", "rows_done",
        "created", "updated", "unchanged", "failed", "by_kind", "errors", "failure_reason", "attempts",
        "created_at", "started_at", "finished_at",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        queryset: QuerySet[ImportJob] = super().get_queryset(request).defer("content")
        if request.user.has_perm(VIEW_ALL_IMPORTS):
            return queryset
        return queryset.filter(requested_by_user_id=request.user.pk)  # one's own, as the API

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        status = path(
            "<path:object_id>/status/", self.admin_site.admin_view(self.status_view), name=f"{info}_status"
        )
        return [status, *super().get_urls()]

    # --- rights: viewing all jobs, or importing (one's own jobs) -------------------------------------

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_ALL_IMPORTS) or may_import(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_import(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A job still queued or running is in the queue's hands; a finished one is a record.
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_finished)

    # --- list columns (they fit 1280 px with the navigation and the filters) -------------------------

    @admin.display(description="Import", ordering="pk")
    def import_name(self, obj: ImportJob) -> str:
        return format_html(
            '{} <span class="dp-quiet-text">#{}</span><br><span class="dp-quiet-text">by {}</span>',
            obj.file_name or "rows",
            obj.pk,
            obj.requested_by,
        )

    @admin.display(description="Created", ordering="created_at")
    def created_on(self, obj: ImportJob) -> str:
        return date_format(timezone.localtime(obj.created_at), "Y-m-d H:i")

    @admin.display(description="Rows")
    def outcome(self, obj: ImportJob) -> str:
        counts = [("created", obj.created), ("updated", obj.updated), ("unchanged", obj.unchanged)]
        shown = [f"{count} {label}" for label, count in counts if count]
        failed = (
            format_html(' <span class="dp-badge dp-bad">{} failed</span>', obj.failed) if obj.failed else ""
        )
        total = f"{obj.rows_total} row{'s' if obj.rows_total != 1 else ''}"
        return format_html("{}: {}{}", total, ", ".join(shown) or "none applied", failed)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: ImportJob) -> str:
        tone = {"done": "ok", "failed": "bad", "running": "wait", "queued": "wait"}[obj.status]
        if obj.status == ImportJobStatus.DONE and obj.failed:
            tone = "warn"
        return format_html('<span class="dp-badge dp-{}">{}</span>', tone, obj.get_status_display())

    @admin.display(description="Progress")
    def progress(self, obj: ImportJob) -> str:
        return f"{obj.progress:.0f} %"

    # --- pages --------------------------------------------------------------------------------------

    def _context(self, request: HttpRequest, **context: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **context}

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = self._create(request, form)
            if job is not None:
                return HttpResponseRedirect(reverse("admin:directory_importjob_change", args=[job.pk]))
        context = self._context(
            request,
            title="Import users, devices or groups",
            form=form,
            permissions=IMPORT_PERMISSIONS,
            **(extra_context or {}),
        )
        return TemplateResponse(request, "admin/directory/importjob/upload.html", context)

    def _create(self, request: HttpRequest, form: ImportUploadForm) -> ImportJob | None:
        upload = form.cleaned_data["file"]
        try:
            return import_job_create(
                content=upload.read(),
                requested_by=f"admin:{request.user.get_username()}",
                requested_by_user=request.user if request.user.is_authenticated else None,
                file_name=str(upload.name or ""),
                file_format=form.cleaned_data["file_format"],
                kind=form.cleaned_data["kind"],
                dry_run=form.cleaned_data["dry_run"],
                permitted=request.user.has_perms,
            )
        except (ImportFileInvalid, ImportNotPermitted) as exc:
            exc.record()
            form.add_error(None, exc.message)
            return None

    def _job(self, request: HttpRequest, object_id: str) -> ImportJob:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job: ImportJob | None = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404("No such import.")
        return job

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        job = self._job(request, object_id)
        if request.method != "GET":
            raise PermissionDenied  # a job is a record: nothing on it is changed from here
        context = self._context(
            request,
            title=f"Import {job.pk}: {job.file_name or 'rows'}",
            original=job,
            job=job,
            poll_every=POLL_EVERY,
            may_import=self.has_add_permission(request),
            **(extra_context or {}),
        )
        return TemplateResponse(request, "admin/directory/importjob/detail.html", context)

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The job's progress, counts and failed rows: the fragment the job's page polls."""
        job = self._job(request, object_id)
        context = {"job": job, "poll_every": POLL_EVERY}
        return TemplateResponse(request, "admin/directory/importjob/_status.html", context)
