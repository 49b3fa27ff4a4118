"""The chaos soak: a mix of jobs over real HTTP while a driver kills processes, then a checker
that proves from PostgreSQL and from what the clients saw that nothing was lost, stuck or repeated.

``make soak`` runs it at length (``python -m tests.soak``); ``tests/test_chaos_soak.py`` runs a
short one in the suite.
"""
