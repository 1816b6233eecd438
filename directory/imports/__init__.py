"""Directory import files: read CSV and JSON, and validate their rows. Pure: no ORM.

Modules (import from them; this package re-exports nothing):

- ``files``: :func:`~directory.imports.files.parse_file` turns a file into numbered rows per kind
  (``users``, ``devices``, ``groups``) and rejects problems of the file as a whole with
  :class:`~directory.exceptions.ImportFileInvalid` (unreadable text, malformed CSV or JSON, unknown
  columns, no ``external_id`` column).
- ``rows``: one DRF serializer per kind, the one list of its columns;
  :func:`~directory.imports.rows.validate_rows` checks each row's values and returns the valid rows plus
  one :class:`~directory.imports.rows.RowError` per bad row.
- ``cells``: how one value is read (text, boolean, choice, reference, member list); what is not text (a
  JSON object or list as a value, control characters, NUL, lone surrogates, noncharacters) is a row error.
- ``plan``: :func:`~directory.imports.plan.import_plan`, the rows checked and cut into chunks of
  ``CERTPORTAL_IMPORT_CHUNK_SIZE`` rows, each applied in a transaction of its own.
- ``results``: :class:`~directory.imports.results.ImportResult`, the counts and errors of an import.

Applying rows to the database is :mod:`directory.services.imports`' job, chunk by chunk; an import
sent to the API or given to ``manage.py directory_import`` is an import job
(:mod:`directory.services.import_jobs`).

Formats
-------
* **CSV**: UTF-8 (a byte-order mark is ignored), comma-separated, a header row whose column names are
  the field names below (case and surrounding spaces ignored). Rows are numbered by the line on which
  they start, so the header is line 1 and the first record is row 2, as a spreadsheet shows it.
* **JSON**: a list of objects with the same keys, rows numbered from 1; or, for a combined file, an
  object ``{"users": [...], "devices": [...], "groups": [...]}`` (each key optional), applied in that
  order so that devices and groups may refer to users and devices of the same file.

The columns of each kind are the fields of its row serializer (``directory.imports.rows.COLUMNS``).
Every row needs ``external_id``, the key that makes imports idempotent: an existing object with that
``external_id`` is updated, otherwise one is created. Only the columns present in the file are written:
an update leaves the other fields alone. In a column that is present, an empty text cell clears the
field; an empty boolean or choice cell (``enabled``, ``domain_joined``, ``platform``, ``state``,
``kind``) means "not given" (the current value, or the default for a new object). ``primary_user`` is
a user's ``external_id`` or UPN (empty clears it); ``members`` names each member by its ``external_id``
(users also by UPN), separated by ``;`` in a CSV cell or as a JSON list (empty removes all members).
"""
