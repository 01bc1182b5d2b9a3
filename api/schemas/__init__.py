"""Pydantic v2 request and response schemas, named by role (``ReservationCreate``, ...)."""
