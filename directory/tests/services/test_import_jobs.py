"""Import jobs: chunks of rows in transactions of their own, progress, resumption, the sweep, observers."""

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from django.db import connection, connections
from django.utils import timezone

from ca.tests.pki import require_postgresql
from directory.models import Device, DirectoryUser, Group, ImportJob, ImportJobStatus
from directory.observers import DirectoryObserver
from directory.services import import_jobs
from directory.services.import_jobs import import_job_create, import_job_redispatch_stale, import_job_run
from directory.services.imports import directory_import_file, import_chunk_apply
from directory.tests.factories import DirectoryUserFactory, GroupFactory

pytestmark = pytest.mark.django_db


def _users_csv(count: int, *, start: int = 0, department: str = "Finance") -> bytes:
    rows = "".join(f"u{i},user{i}@corp.example.com,{department}\n" for i in range(start, start + count))
    return f"external_id,user_principal_name,department\n{rows}".encode()


def _job(content: bytes, **options) -> ImportJob:
    """A job as the API records it, not yet sent to the queue (the tests run it themselves)."""
    return import_job_create(content=content, requested_by="test", dispatch=False, **options)


class WorkerLost(BaseException):
    """Stands for the worker process dying: not an error the job could record."""


@pytest.fixture
def chunk_spy(monkeypatch):
    """``chunk_spy(before)``: call ``before(chunk)`` ahead of each chunk the job applies."""

    def install(before):
        def spy(*, chunk, dry_run):
            before(chunk)
            return import_chunk_apply(chunk=chunk, dry_run=dry_run)

        monkeypatch.setattr("directory.services.import_jobs.import_chunk_apply", spy)

    return install


def test_a_large_import_runs_as_a_job_chunk_by_chunk_with_its_progress(settings, chunk_spy):
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 500
    content = _users_csv(3000) + b"u-bad,not a upn,IT\n"
    job = _job(content, file_name="users.csv")
    assert (job.status, job.rows_total, job.rows_done, job.kinds, job.chunk_size) == (
        "queued", 3001, 0, ["users"], 500,
    )  # fmt: skip
    progress: list[tuple[int, int, int]] = []

    def before(chunk):  # what the job says while it applies the chunk, as GET /directory-import/{id}/ shows
        seen = ImportJob.objects.get(pk=job.pk)
        progress.append((seen.rows_done, seen.created, DirectoryUser.objects.count()))
        assert seen.status == ImportJobStatus.RUNNING

    chunk_spy(before)
    job = import_job_run(job_id=job.pk)

    # The refused row counts at once; then each chunk of 500 commits with the job's counters.
    assert progress == [(1 + done, done, done) for done in range(0, 3000, 500)]
    assert (job.status, job.rows_done, job.progress, job.chunks_done, job.attempts) == (
        "done",
        3001,
        100.0,
        6,
        1,
    )
    assert (job.created, job.updated, job.unchanged, job.failed) == (3000, 0, 0, 1)
    assert job.by_kind == {"users": {"created": 3000, "updated": 0, "unchanged": 0, "failed": 1}}
    assert [(error["row"], error["external_id"]) for error in job.errors] == [(3002, "u-bad")]
    assert job.started_at is not None
    assert job.finished_at is not None
    assert bytes(ImportJob.objects.get(pk=job.pk).content) == b""
    assert DirectoryUser.objects.count() == 3000

    again = import_job_run(job_id=job.pk)  # a redelivered task: the job has finished, nothing happens
    assert (again.status, again.attempts, again.created) == ("done", 1, 3000)


def test_only_the_first_failed_rows_are_listed(settings, monkeypatch):
    monkeypatch.setattr(import_jobs, "ERRORS_KEPT", 5)
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 4
    content = _users_csv(6) + "".join(f"bad{i},no upn {i},IT\n" for i in range(12)).encode()
    content += b"u0,user1@corp.example.com,IT\n"  # a duplicate external_id, refused before the database
    job = import_job_run(job_id=_job(content).pk)
    assert (job.created, job.failed, len(job.errors), job.errors_omitted) == (6, 13, 5, 8)
    assert [error["row"] for error in job.errors] == [8, 9, 10, 11, 12]


def test_an_interrupted_job_resumes_after_its_last_committed_chunk(settings, chunk_spy):
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 100
    job = _job(_users_csv(350))
    chunks = iter(range(10))

    def dies_at_the_third_chunk(chunk):
        if next(chunks) == 2:
            raise WorkerLost

    chunk_spy(dies_at_the_third_chunk)
    with pytest.raises(WorkerLost):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.chunks_done, job.rows_done, job.created) == ("running", 2, 200, 200)
    assert DirectoryUser.objects.count() == 200

    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))
    assert import_job_redispatch_stale(older_than=dt.timedelta(minutes=5)) == 1  # runs it (tasks eager)

    job.refresh_from_db()
    assert (job.status, job.chunks_done, job.rows_done, job.attempts) == ("done", 4, 350, 2)
    assert (job.created, job.unchanged) == (350, 0)  # each row counted once
    assert DirectoryUser.objects.count() == 350


def test_an_unexpected_error_fails_the_job_and_keeps_the_chunks_committed_before(settings, chunk_spy):
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 100
    job = _job(_users_csv(250))
    chunks = iter(range(10))

    def fails_at_the_second_chunk(chunk):
        if next(chunks) == 1:
            raise RuntimeError("the disk is full")

    chunk_spy(fails_at_the_second_chunk)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportJobStatus.FAILED
    assert job.failure_reason == "stopped at chunk 2 of 3: RuntimeError: the disk is full"
    assert (job.created, job.rows_done) == (100, 100)
    assert DirectoryUser.objects.count() == 100
    assert bytes(ImportJob.objects.get(pk=job.pk).content) == b""


def test_the_sweep_sends_again_the_jobs_whose_task_was_lost():
    lost = _job(_users_csv(3))
    recent = _job(_users_csv(2, start=10))
    finished = import_job_run(job_id=_job(_users_csv(1, start=20)).pk)
    ImportJob.objects.filter(pk__in=[lost.pk, finished.pk]).update(
        updated_at=timezone.now() - dt.timedelta(minutes=10)
    )

    assert import_job_redispatch_stale(older_than=dt.timedelta(minutes=5)) == 1

    assert ImportJob.objects.get(pk=lost.pk).status == ImportJobStatus.DONE
    assert ImportJob.objects.get(pk=recent.pk).status == ImportJobStatus.QUEUED
    assert ImportJob.objects.get(pk=finished.pk).attempts == 1
    assert DirectoryUser.objects.count() == 4
    assert import_job_redispatch_stale(older_than=dt.timedelta(minutes=5)) == 0


def test_the_sweep_task_reads_its_setting(settings):
    from directory.jobs import import_job_sweep_task  # noqa: PLC0415 - the task module, as beat runs it

    _job(_users_csv(1))
    settings.CERTPORTAL_IMPORT_JOB_REDISPATCH_AFTER = 3600
    assert import_job_sweep_task() == 0
    ImportJob.objects.update(updated_at=timezone.now() - dt.timedelta(hours=2))
    assert import_job_sweep_task() == 1


COMBINED = {
    "users": [{"external_id": f"u{i}", "user_principal_name": f"user{i}@corp.example.com"} for i in range(7)],
    "devices": [
        {
            "external_id": f"d{i}",
            "name": f"PC-{i}",
            "platform": "ios",
            "primary_user": f"USER{i}@corp.example.com",
        }
        for i in range(7)
    ],
    "groups": [
        {"external_id": "g1", "name": "Staff", "kind": "user", "members": [f"u{i}" for i in range(7)]},
        {"external_id": "g2", "name": "Phones", "kind": "device", "members": ["d0", "d6"]},
    ],
}


def test_a_dry_run_counts_what_the_import_would_do_across_chunks_and_writes_nothing(settings):
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 3  # devices and groups refer to users of earlier chunks
    DirectoryUserFactory.create(external_id="u1", user_principal_name="old@corp.example.com")
    content = json.dumps(COMBINED).encode()

    dry = import_job_run(job_id=_job(content, dry_run=True).pk)

    assert (dry.status, dry.errors) == ("done", [])
    assert dry.by_kind == {
        "users": {"created": 6, "updated": 1, "unchanged": 0, "failed": 0},
        "devices": {"created": 7, "updated": 0, "unchanged": 0, "failed": 0},
        "groups": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0},
    }
    assert list(DirectoryUser.objects.values_list("user_principal_name", flat=True)) == [
        "old@corp.example.com"
    ]
    assert not Device.objects.exists()
    assert not Group.objects.exists()

    real = import_job_run(job_id=_job(content).pk)
    assert (real.by_kind, real.errors) == (dry.by_kind, [])
    assert Device.objects.get(external_id="d3").primary_user == DirectoryUser.objects.get(external_id="u3")
    assert Group.objects.get(external_id="g1").users.count() == 7
    assert directory_import_file(content=content, dry_run=True).as_dict()["by_kind"] == {
        kind: {"created": 0, "updated": 0, "unchanged": count, "failed": 0}
        for kind, count in (("users", 7), ("devices", 7), ("groups", 2))
    }


class RecordingObserver(DirectoryObserver):
    calls: list[tuple[frozenset[int], frozenset[int]]] = []

    def members_changed(self, *, device_ids: frozenset[int], user_ids: frozenset[int]) -> None:
        RecordingObserver.calls.append((device_ids, user_ids))


@pytest.fixture
def observer(settings):
    RecordingObserver.calls = []
    settings.CERTPORTAL_DIRECTORY_OBSERVERS = [f"{__name__}.RecordingObserver"]
    return RecordingObserver


@pytest.mark.django_db(transaction=True)
def test_the_observers_hear_of_each_chunk_when_it_commits(settings, observer, chunk_spy):
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 2
    DirectoryUserFactory.create(external_id="u-new", user_principal_name="new@corp.example.com")
    devices = [{"external_id": f"d{i}", "name": f"PC-{i}", "platform": "ios", "primary_user": "u-old"}
               for i in range(5)]  # fmt: skip
    users = [{"external_id": "u-old", "user_principal_name": "old@corp.example.com"}]
    import_job_run(job_id=_job(json.dumps({"users": users, "devices": devices}).encode()).pk)
    assert observer.calls == []  # created with a primary user: no membership changed
    ids = dict(Device.objects.values_list("external_id", "pk"))
    heard_before: list[int] = []
    chunk_spy(lambda chunk: heard_before.append(len(observer.calls)))

    moved = [{"external_id": f"d{i}", "primary_user": "u-new"} for i in range(5)]
    job = import_job_run(job_id=_job(json.dumps(moved).encode(), kind="devices").pk)

    assert job.updated == 5
    assert heard_before == [0, 1, 2]  # each chunk was announced as it committed, before the next one
    assert observer.calls == [
        (frozenset({ids["d0"], ids["d1"]}), frozenset()),
        (frozenset({ids["d2"], ids["d3"]}), frozenset()),
        (frozenset({ids["d4"]}), frozenset()),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failed_row_and_a_dry_run_announce_nothing(observer):
    old, new = DirectoryUserFactory.create_batch(2)
    GroupFactory.create(external_id="g1", name="Staff", kind="user", members=[old])
    rows = [
        {"external_id": "g1", "name": "", "members": new.external_id},  # members changed, then refused
        {"external_id": "g2", "name": "Others", "kind": "user", "members": new.external_id},
    ]
    job = import_job_run(job_id=_job(json.dumps(rows).encode(), kind="groups").pk)
    assert (job.created, job.failed) == (1, 1)
    assert observer.calls == [(frozenset(), frozenset({new.pk}))]  # g2's member only: g1 did not change
    assert list(Group.objects.get(external_id="g1").users.all()) == [old]

    observer.calls.clear()
    rows = [{"external_id": "g1", "members": new.external_id}, {"external_id": "g2", "members": ""}]
    job = import_job_run(job_id=_job(json.dumps(rows).encode(), kind="groups", dry_run=True).pk)
    assert job.updated == 2
    assert observer.calls == []  # a dry run changes nothing, and announces nothing
    DirectoryUserFactory.create()
    GroupFactory.create(members=[new])  # the next commits carry nothing the dry run left behind
    assert observer.calls == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_transaction_spans_the_import_so_other_writers_are_not_held_up(settings, chunk_spy):
    """Finding 2: a 40,000-row import blocked an enrollment for 12 s. Each chunk commits on its own: while
    the job works on its second chunk, another connection sees the first chunk's rows and the job's
    progress, and updates one of those rows without waiting for a lock.
    """
    require_postgresql()
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 500
    job = _job(_users_csv(2000, department="Imported"))
    other = connections.create_connection("default")  # a private connection, as another process has
    seen: list[object] = []

    def look_from_another_connection(chunk):
        if chunk.rows[0].external_id != "u500":
            return
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a lock held by the import fails this, not waits
            cursor.execute("SELECT count(*) FROM directory_directoryuser")
            seen.append(cursor.fetchone()[0])
            cursor.execute(
                "SELECT status, rows_done, created FROM directory_importjob WHERE id = %s", [job.pk]
            )
            seen.append(cursor.fetchone())
            cursor.execute(
                "UPDATE directory_directoryuser SET department = 'Moved' WHERE external_id IN ('u0', 'u499')"
            )
            seen.append(cursor.rowcount)

    chunk_spy(look_from_another_connection)
    try:
        job = import_job_run(job_id=job.pk)
    finally:
        other.close()

    assert seen == [500, ("running", 500, 500), 2]
    assert (job.status, job.created) == ("done", 2000)
    assert DirectoryUser.objects.filter(department="Moved").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runners_of_one_job_apply_each_chunk_once(settings):
    """A redelivered task and the sweep's can run the same job at once: they take turns on the job's row
    lock and the one that finds the job moved on stops.
    """
    require_postgresql()
    settings.CERTPORTAL_IMPORT_CHUNK_SIZE = 50
    job = _job(_users_csv(600))
    barrier = threading.Barrier(2)

    def run(_: int) -> str:
        try:
            barrier.wait(timeout=30)
            return import_job_run(job_id=job.pk).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(run, range(2)))

    job.refresh_from_db()
    assert "done" in statuses  # the other stopped when it found the job moved on, or finished it itself
    assert (job.status, job.chunks_done, job.rows_done, job.attempts) == ("done", 12, 600, 2)
    assert (job.created, job.updated, job.unchanged, job.failed) == (600, 0, 0, 0)
    assert DirectoryUser.objects.count() == 600
