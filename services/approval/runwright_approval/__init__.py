"""Runwright approval service: approval requests, decisions and their audit log."""
