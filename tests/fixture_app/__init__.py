"""A fixture web application for the runbook engine's tests.

Small pages (plain HTML and vanilla JavaScript, nothing loaded from outside the app) that exercise
every action type, every selector attribute and every failure class of the runbook format. Serve it
with ``fixture_app.server.running_fixture_app()``; ``fixture_app.app.create_app()`` builds it.
"""
