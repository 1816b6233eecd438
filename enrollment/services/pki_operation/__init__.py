"""The PKIOperation pipeline (the NDES server + policy module role), one idea per module:

- ``handle``: the entry point. Order of checks, before anything is signed: the message-type allow-list;
  the outer signature (and its digest); the signing time; the envelope (cipher policy, our RA as
  recipient); the CSR (self-signature, key = signer key); then the handler of the message type.
- ``exchange``: one PKIOperation being answered (the request, our RA, the reply's algorithms) and the
  reply objects (CertRep SUCCESS / PENDING / FAILURE, or an HTTP error).
- ``policy``: what a PKCSReq or RenewalReq may get: the challenge verifiers, the NDES template mapping,
  and the renewal rules (one function).
- ``transaction``: the ``ScepTransaction`` state machine: find a request's transaction, record a refusal,
  submit to the CA, and answer from the stored state (retransmissions and polls get the same answer).
- ``queries``: the read-only operations CertPoll, GetCert and GetCRL.

Every outcome is recorded: a ``ScepTransaction`` for PKCSReq/RenewalReq and a connector event
(``eventlog.ConnectorEvent``, through ``Exchange.record``) for every operation, including refusals.
"""
