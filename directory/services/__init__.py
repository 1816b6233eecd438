"""Every write to the directory, by concern:

- ``users``, ``devices``, ``groups``: create, update and delete, and a group's members.
- ``checkin_tokens``: a device's check-in token (rotate; authenticate a device by it).
- ``imports``: apply import rows (:mod:`directory.imports`) a chunk per transaction, each row in its own
  savepoint.
- ``import_jobs``: an import recorded as an ImportJob and run by a task on the default queue, with its
  progress; the sweep that sends again the jobs whose task was lost.
- ``objects``: what the others share: create after ``full_clean``, and deletes that other records refuse.

Updates go through ``core.services.model_update``: only changed fields are written, after ``full_clean``
(which also runs the format validators on the model fields, see :mod:`directory.validators`).

Device state changes (retire, wipe) are not here: they revoke certificates, so they belong to the
profiles services, which call into this app and not the other way round.

Import from the submodules; this package re-exports nothing.
"""
