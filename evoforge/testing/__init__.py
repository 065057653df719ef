"""Test helpers shipped with evoforge: the scripted OpenAI-protocol server and the demo.

Import from the modules (``evoforge.testing.scripted_server``): importing them here would make
``python -m evoforge.testing.scripted_server`` load the module twice.
"""
