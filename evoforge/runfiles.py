"""The names of the files a run directory holds, in one place for every layer that must know them.

The store writes the database, the run lock guards it, and the sandbox's staging must never copy
either into a candidate's reach: naming them here keeps the evaluation layer free of storage imports.
"""

DB_FILENAME = "evoforge.db"
LOCK_FILENAME = "run.lock"
