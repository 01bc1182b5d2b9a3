"""Who may call: bearer tokens with a role (``access.tokens``), issued and revoked by the command
line and checked by the HTTP API and the dashboard."""
