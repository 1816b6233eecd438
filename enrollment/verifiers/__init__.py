"""Who may enroll, and for exactly what: the policy module's plug-in interface (``base``) and the static
shared-challenge verifier (``static``). The per-device one-time challenge verifier is the profiles app's
plug-in (``profiles.scep_verifier``); ``CERTPORTAL_CHALLENGE_VERIFIERS`` lists the verifiers in order.
"""
