"""Writes of the SCEP front end: ``registration`` (RA certificates, SCEP services), ``events`` (the
event log), ``pki_operation/`` (the PKIOperation pipeline: check, authorise, submit to the CA, answer).
"""
