"""The runbook engine, shared by the executor service and `runwright exec`."""
