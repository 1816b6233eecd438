"""Every write of the certificate authority, by concern:

- ``submission``: the RA side: policy checks, the request queue, approval, revocation requests, and
  sending work to the ``ca`` queue by task name (``ca.dispatch``). Never touches a CA key and never
  imports the CA worker's modules.
- ``authorities``, ``issuance`` and ``revocation``: the CA side: creating CAs, signing certificates and
  CRLs. Called by the CA worker's tasks (``ca.tasks``) and by management commands run where the CA key
  passphrase is (``init_ca``, the embedded default's ``demo_setup``).

Import from the submodules; this package re-exports nothing.
"""
