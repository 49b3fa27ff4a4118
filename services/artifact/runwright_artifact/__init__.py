"""Runwright artifact service: stores screenshots, videos, exports and downloads."""
