"""Certificate names from Intune-style ``{{Variable}}`` templates. Pure: no Django, no ORM.

Import each name from the module that defines it (there is no re-export here):

* ``variables``: the variable catalogue, :class:`~profiles.naming.variables.CertificateType`,
  :class:`~profiles.naming.variables.RenderContext` (a user's and a device's attribute values), value
  templates and the error classes (``TemplateError`` for the admin, ``RenderError`` for a device);
* ``subject``: Intune's subject name format choices (``SubjectNameFormat``) and the CertStrToName
  subject parser and renderer;
* ``sans``: the SAN table of a profile (``SanType``, ``parse_san_entries``, ``render_sans``);
* ``request``: subject and SANs rendered together (``RenderedRequest``), what a challenge is bound to.

Canonical forms of names and the grammar of identities (SID, UPN) are :mod:`ca.crypto.canonical` and
:mod:`ca.crypto.identities`; the CertStrToName *writer* for Windows payloads is
:mod:`profiles.exports.x500`.
"""
