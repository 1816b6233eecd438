"""The connector's event log (the Intune Certificate Connector's Event Viewer log), the bottom layer.

Every app records its events here (``eventlog.services.event_record``) with the reference's event IDs
and diagnostic codes (``eventlog.choices``, described in ``eventlog.catalogue``). The app imports no other
app of the project, so that the CA, which may import nothing else, can record events too; an event
refers to devices, users, CAs and transactions by soft links (plain columns), never by foreign key.
"""
