"""Built-in fairguard plugins (installed as ``fairguard.plugins``)."""
