"""The edges: FastAPI app, pydantic schemas, auth, and the `ledger` command line."""
