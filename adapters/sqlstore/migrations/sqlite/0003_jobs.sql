-- Scheduled jobs (escalations now; reminders and digests later): one row per
-- unique key, run at or after run_at, leased like the inbox and the outbox.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL UNIQUE,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMP NULL,
    next_at     TIMESTAMP NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    done_at     TIMESTAMP NULL
);
CREATE INDEX jobs_pending ON jobs (state, next_at, id);
