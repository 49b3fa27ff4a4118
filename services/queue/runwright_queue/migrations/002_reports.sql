-- The execution report of every finished job (JSON with the format's fields, and Markdown).
CREATE TABLE queue.job_reports (
    job_id     uuid        PRIMARY KEY REFERENCES queue.jobs (id) ON DELETE CASCADE,
    report     jsonb       NOT NULL,
    markdown   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
