"""Shared, domain-free pieces: the application error base class, model base classes."""
