"""Live view frames on ``runwright.live.frames.<job_id>`` (core NATS, best effort).

The payload is the raw JPEG; these headers describe it. Watchers are announced on
``runwright.live.watch.<job_id>`` (empty payload) every ``WATCH_INTERVAL_S`` while any SSE client
follows the job; an executor streams a job's frames only while announcements keep coming.
"""

from __future__ import annotations

CAPTURED_AT = "Runwright-Captured-At"
"""Unix time (seconds, float as text) when the executor received the frame from Chromium."""

WIDTH = "Runwright-Width"
HEIGHT = "Runwright-Height"
FRAME = "Runwright-Frame"
"""Frame number within this job's live stream."""

WATCH_INTERVAL_S = 2.0
WATCH_EXPIRY_S = 6.0
DEFAULT_MAX_FPS = 5.0
