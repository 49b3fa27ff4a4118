"""Plumbing every Runwright service shares."""
