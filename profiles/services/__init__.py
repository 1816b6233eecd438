"""Writes of the profiles app, by concern: ``profiles`` (create/update, assignments), ``states`` (device
certificate states), ``checkin`` (rendering, one-time challenges, what a device gets), ``challenges``
(verification at SCEP time), ``devices`` (retire/wipe: revocation through the CA queue).
"""
