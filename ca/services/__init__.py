"""Every write of the certificate authority, by concern:

- ``authorities``: create CAs (needs the CA key passphrase).
- ``submission``: the RA side: policy checks, the request queue, approval, revocation requests, and
  handing work to the ``ca`` queue. Never touches a CA key.
- ``issuance`` and ``revocation``: the CA side: signing certificates and CRLs. Called by the tasks
  on the ``ca`` queue (``ca.tasks``), which only the CA worker serves.

Import from the submodules; this package re-exports nothing, so that ``ca.tasks`` can import the
CA-side modules while the RA-side ``submission`` imports ``ca.tasks``.
"""
