"""Block Kit rendering: pure functions from domain objects to message and view dicts."""
