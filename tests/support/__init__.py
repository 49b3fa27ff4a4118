"""Helpers shared by the tests: the stack, SSE reading, runbooks."""
