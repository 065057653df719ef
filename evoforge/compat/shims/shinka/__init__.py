"""evoforge's stand-in for the ``shinka`` package inside an evaluation (see ``shinka.core``)."""
