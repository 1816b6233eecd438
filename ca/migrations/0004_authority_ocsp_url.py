"""Point existing CAs at their OCSP responder: ``ocsp_url`` from the base of their ``crl_url``.

A CA created by ``authority_create`` has ``crl_url = <base>/crl/<slug>.crl``; its OCSP URL is
``<base>/ocsp/<slug>`` (what ``authority_urls`` gives new CAs). CAs with an OCSP URL already, or whose CRL
URL has another shape, are left as they are. Certificates issued from now on carry the URL in their AIA.
"""

from django.db import migrations


def _set_ocsp_url(apps, schema_editor):
    CertificateAuthority = apps.get_model("ca", "CertificateAuthority")
    for authority in CertificateAuthority.objects.filter(ocsp_url="").exclude(crl_url=""):
        suffix = f"/crl/{authority.slug}.crl"
        if authority.crl_url.endswith(suffix):
            authority.ocsp_url = f"{authority.crl_url.removesuffix(suffix)}/ocsp/{authority.slug}"
            authority.save(update_fields=["ocsp_url"])


def _clear_ocsp_url(apps, schema_editor):
    CertificateAuthority = apps.get_model("ca", "CertificateAuthority")
    for authority in CertificateAuthority.objects.exclude(crl_url=""):
        suffix = f"/crl/{authority.slug}.crl"
        if authority.ocsp_url == f"{authority.crl_url.removesuffix(suffix)}/ocsp/{authority.slug}":
            authority.ocsp_url = ""
            authority.save(update_fields=["ocsp_url"])


class Migration(migrations.Migration):
    dependencies = [("ca", "0003_revocation_requests_and_requested_usage")]

    operations = [migrations.RunPython(_set_ocsp_url, _clear_ocsp_url, elidable=False)]
