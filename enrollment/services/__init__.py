"""Writes of the SCEP front end: ``registration`` (RA certificates, their renewal, SCEP services),
``events`` (a SCEP service's events in the connector's event log), ``pki_operation/`` (the PKIOperation
pipeline: check, authorise, submit to the CA, answer).
"""
