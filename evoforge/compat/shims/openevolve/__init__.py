"""evoforge's stand-in for the ``openevolve`` package inside an evaluation (see ``evaluation_result``)."""
