"""Runwright's wire contract. Every service imports its messages, subjects and streams from here."""
