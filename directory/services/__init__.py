"""Every write to the directory, by concern:

- ``users``, ``devices``, ``groups``: create, update and delete, and a group's members.
- ``checkin_tokens``: a device's check-in token (rotate; authenticate a device by it).
- ``imports``: apply import rows (:mod:`directory.imports`), each in its own savepoint.
- ``objects``: what the others share: create after ``full_clean``, and deletes that other records refuse.

Updates go through ``core.services.model_update``: only changed fields are written, after ``full_clean``
(which also runs the format validators on the model fields, see :mod:`directory.validators`).

Device state changes (retire, wipe) are not here: they revoke certificates, so they belong to the
profiles services, which call into this app and not the other way round.

Import from the submodules; this package re-exports nothing.
"""
