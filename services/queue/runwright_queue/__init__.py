"""Runwright queue service: records jobs, hands them to executors, applies their reports."""
