"""Writes of the profiles app, by concern: ``profiles`` (create/update, assignments), ``states`` (device
certificate states and bindings, including an enrollment's outcome), ``checkin`` (rendering, one-time
challenges, what a device gets), ``payloads`` (JSON, .mobileconfig, CSP), ``devices`` (retire/wipe:
revocation through the CA queue). Verification at SCEP time is the plug-in ``profiles.scep_verifier``.
"""
