"""Runnable examples of the stream engine (the tests run each one)."""
