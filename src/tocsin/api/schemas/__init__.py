"""Request and response shapes (``IncidentCreate``, ``IncidentRead`` ...), apart from the tables."""
