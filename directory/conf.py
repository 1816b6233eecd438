"""The directory's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["DirectorySettings", "directory_settings"]


class DirectorySettings(SettingsModel):
    #: Who follows changes of group membership and device ownership (``directory.observers``): dotted
    #: paths of DirectoryObserver classes. The project adds the profiles app's assignment reconciler.
    DIRECTORY_OBSERVERS: tuple[str, ...] = ()
    #: Rows an import job applies per database transaction: each transaction stays short (about a second
    #: for 500 rows), so that an import never holds up enrollments and check-ins for long.
    IMPORT_CHUNK_SIZE: int = Field(default=500, ge=1, le=10_000)
    #: An import job still queued, or running without progress, for this many seconds is dispatched
    #: again by the sweep (``directory.jobs.import_job_sweep_task``): its task was lost or its worker died.
    #: A running job resumes after its last committed chunk.
    IMPORT_JOB_REDISPATCH_AFTER: float = Field(default=300.0, ge=10, le=24 * 3600)


directory_settings = AppSettings(DirectorySettings)
