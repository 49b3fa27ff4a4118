"""Acme Back Office: the small web application Runwright's example runbooks automate offline.

Start it with ``python -m runwright_demo --host 127.0.0.1 --port 8090``. Any non-empty email
signs in with the password ``demo``; every other password is refused.
"""

from runwright_demo.app import DEMO_PASSWORD, SESSION_COOKIE, create_app

__all__ = ["DEMO_PASSWORD", "SESSION_COOKIE", "create_app"]
