"""Runwright gateway: HTTP API (Litestar) and SSE fan-out of job events."""
