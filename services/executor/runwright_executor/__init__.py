"""Runwright executor: claims jobs, runs their steps in a fresh browser context, reports back."""
