"""Public, unauthenticated endpoints of the CA: ``downloads`` (CA certificates, chains, CRLs) and ``ocsp``
(the OCSP responder of each CA). Import from the submodules.
"""
