-- Changes a service made by itself (a schedule's submission, a run time reached, an approval or a
-- job timing out, an executor lost) are recorded from the job's events: one row per event, whose
-- request_id is ``event:<job_id>:<seq>`` (a caller's X-Request-Id cannot hold a colon). The
-- index makes a redelivered event a no-op. ``status`` is 0 for such rows: no HTTP answer.
CREATE UNIQUE INDEX audit_event_idx ON gateway.audit (request_id) WHERE request_id LIKE 'event:%';
