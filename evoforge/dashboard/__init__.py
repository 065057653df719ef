"""The web dashboard and the static report: read-only views of runs (see docs/dashboard.md).

Importing this package imports nothing heavy; FastAPI, uvicorn and matplotlib are imported by the
commands that need them, which say which extra to install when one is missing.
"""
