"""Runwright scheduler: turns run_at times and cron schedules into queued jobs."""
