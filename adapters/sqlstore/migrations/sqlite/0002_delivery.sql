-- Durable delivery: the inbox of platform events (deduplicated by platform and
-- event id, persisted before they are acknowledged) and the outbox of messages
-- to send (one row per idempotency key).
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMP NULL,
    next_at     TIMESTAMP NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMP NOT NULL,
    done_at     TIMESTAMP NULL,
    UNIQUE (platform, event_id)
);
CREATE INDEX inbox_pending ON inbox (state, next_at, id);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,
    platform    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMP NULL,
    next_at     TIMESTAMP NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP NULL
);
CREATE INDEX outbox_pending ON outbox (state, platform, next_at, id);
