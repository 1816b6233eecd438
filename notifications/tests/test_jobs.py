"""The notification tasks: on the default queue, scheduled by beat from the typed settings."""

from __future__ import annotations

import os
import subprocess
import sys

from celery import current_app as celery_app
from django.conf import settings

from notifications.jobs import certificate_expiry_notify_task, enrollment_failure_notify_task
from profiles.choices import CertificateState
from profiles.services.states import device_state_set


def _queue(name: str) -> str:
    return str(celery_app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name)


def test_the_tasks_run_on_the_default_queue_daily_and_hourly():
    assert _queue(certificate_expiry_notify_task.name) == "default"
    assert _queue(enrollment_failure_notify_task.name) == "default"
    assert settings.CELERY_BEAT_SCHEDULE["certificate-expiry-notify"] == {
        "task": "notifications.jobs.certificate_expiry_notify_task",
        "schedule": 86400.0,
    }
    assert settings.CELERY_BEAT_SCHEDULE["enrollment-failure-notify"] == {
        "task": "notifications.jobs.enrollment_failure_notify_task",
        "schedule": 3600.0,
    }
    assert certificate_expiry_notify_task.acks_late
    assert enrollment_failure_notify_task.acks_late


def test_the_environment_sets_the_intervals():
    code = (
        "from django.conf import settings; s = settings.CELERY_BEAT_SCHEDULE; "
        "print(s['certificate-expiry-notify']['schedule'], s['enrollment-failure-notify']['schedule'], "
        "s['device-certificate-sweep']['schedule'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CERTPORTAL_NOTIFY_EXPIRY_INTERVAL": "43200",
        "CERTPORTAL_NOTIFY_FAILURE_INTERVAL": "900",
        "CERTPORTAL_CERTIFICATE_SWEEP_INTERVAL": "120",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["43200.0", "900.0", "120.0"]


def test_an_invalid_interval_in_the_environment_stops_the_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CERTPORTAL_NOTIFY_FAILURE_INTERVAL": "5",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.INSTALLED_APPS"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "NOTIFY_FAILURE_INTERVAL" in result.stderr


def test_the_tasks_send_the_notices(emails, certificate, device, scep_profile):
    certificate("soon", days=20)
    device_state_set(device=device, profile=scep_profile, state=CertificateState.FAILED, reason="no IMEI")

    assert certificate_expiry_notify_task.delay().get() == {"delivered": {"email": 1}, "failed": {}}
    assert enrollment_failure_notify_task.delay().get() == {"delivered": {"email": 1}, "failed": {}}
