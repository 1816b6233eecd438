# One image for every certportal process; docker-compose.yml picks the command and the secrets.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production \
    CERTPORTAL_DATA_DIR=/var/lib/certportal

# tls/: the front door's certificate (manage.py tls_certificate); a new volume mounted there takes its owner.
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin certportal \
    && mkdir -p /var/lib/certportal/tls && chown certportal /var/lib/certportal /var/lib/certportal/tls
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic DATABASE_URL=sqlite:////tmp/collect.sqlite3 \
    python manage.py collectstatic --noinput -v 0
USER certportal
EXPOSE 8000
CMD ["gunicorn", "-c", "portal/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "portal.wsgi"]
