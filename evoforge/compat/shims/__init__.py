"""Stand-ins for the small modules OpenEvolve's and ShinkaEvolve's evaluators import.

The sandbox puts this folder at the END of an evaluation's import path, and only when the real package
is not installed, so an installed OpenEvolve or ShinkaEvolve always takes precedence. Written from the
documented contracts; nothing here is imported by the controller.
"""
