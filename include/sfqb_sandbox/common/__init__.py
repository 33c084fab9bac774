"""Pieces both sandbox servers share: TLS, clock, admin surface, service plug-in interface."""
