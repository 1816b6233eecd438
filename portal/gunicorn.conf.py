"""gunicorn settings for the web tier (the RA): ``gunicorn -c portal/gunicorn.conf.py portal.wsgi``.

Environment: GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT,
GUNICORN_LIMIT_REQUEST_LINE.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# A GET PKIOperation carries the whole base64 message in the URL: about 3.7 KB for a 2048-bit key, 6 KB for
# a 4096-bit one, more with a chain; NDES takes request lines and header lines of 65,534 bytes (the
# reference's IIS settings), and so does certportal's front door, nginx (deploy/nginx/), which is the
# limit: it answers 414 / 400 above it. gunicorn caps any bounded request line at 8190 bytes, so the line
# is unbounded here (0): gunicorn listens only where nginx reaches it (compose: no published port). A
# gunicorn that clients reach directly should get GUNICORN_LIMIT_REQUEST_LINE=8190 (GET PKIOperation up to
# about 8 KB; POST has no such limit). A header line is bounded at nginx's limit (gunicorn counts its CRLF:
# 65,534 + 2).
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "0"))
limit_request_field_size = 65536
# gunicorn's control socket is one path per user; several instances (tests, a dev server) would collide.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
