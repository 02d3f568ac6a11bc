-- Durable delivery: the inbox of platform events (deduplicated by platform and
-- event id, persisted before they are acknowledged) and the outbox of messages
-- to send (one row per idempotency key).
CREATE TABLE inbox (
    id          BIGSERIAL PRIMARY KEY,
    platform    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ NULL,
    next_at     TIMESTAMPTZ NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMPTZ NOT NULL,
    done_at     TIMESTAMPTZ NULL,
    UNIQUE (platform, event_id)
);
CREATE INDEX inbox_pending ON inbox (state, next_at, id);

CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    platform    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ NULL,
    next_at     TIMESTAMPTZ NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ NULL
);
CREATE INDEX outbox_pending ON outbox (state, platform, next_at, id);
