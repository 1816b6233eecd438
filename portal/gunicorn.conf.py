"""gunicorn settings for the web tier (the RA): ``gunicorn -c portal/gunicorn.conf.py portal.wsgi``.

Environment: GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# A GET PKIOperation carries the whole base64 message in the URL: about 3.7 KB for a 2048-bit key and
# 6 KB for a 4096-bit one. 8190 is gunicorn's largest bounded limit; longer lines get a 400 from
# gunicorn ("Request Line is too large"), and clients should use POST (advertised as POSTPKIOperation).
limit_request_line = 8190
limit_request_field_size = 8190
# gunicorn's control socket is one path per user; several instances (tests, a dev server) would collide.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
