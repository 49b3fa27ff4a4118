"""The runwright command."""
