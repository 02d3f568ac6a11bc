-- The bulletin: job offers and events, posted in chat or imported from feeds
-- and calendars; who saved an offer and who answers an event; subscriptions
-- and the notices sent for them; the rooms where items are announced.
ALTER TABLE rooms ADD COLUMN announce TEXT NOT NULL DEFAULT '';

CREATE TABLE offers (
    id           BIGSERIAL PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id),
    source       TEXT NOT NULL DEFAULT '',
    source_id    TEXT NOT NULL DEFAULT '',
    poster_id    BIGINT NULL REFERENCES people (id) ON DELETE SET NULL,
    title        TEXT NOT NULL,
    employer     TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    category     TEXT NOT NULL DEFAULT '',
    contract     TEXT NOT NULL DEFAULT '',
    remote       TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    link         TEXT NOT NULL DEFAULT '',
    closes_at    TIMESTAMPTZ NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    posted_at    TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX offers_source ON offers (source, source_id) WHERE source <> '';
CREATE INDEX offers_open ON offers (expires_at, posted_at);
CREATE INDEX offers_posted ON offers (posted_at);

CREATE TABLE offer_saves (
    offer_id  BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    saved_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (offer_id, person_id)
);

CREATE TABLE events (
    id           BIGSERIAL PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id),
    source       TEXT NOT NULL DEFAULT '',
    source_id    TEXT NOT NULL DEFAULT '',
    poster_id    BIGINT NULL REFERENCES people (id) ON DELETE SET NULL,
    title        TEXT NOT NULL,
    organiser    TEXT NOT NULL DEFAULT '',
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ NOT NULL,
    time_zone    TEXT NOT NULL,
    place        TEXT NOT NULL DEFAULT '',
    link         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    capacity     INTEGER NOT NULL DEFAULT 0,
    posted_at    TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX events_source ON events (source, source_id) WHERE source <> '';
CREATE INDEX events_time ON events (ends_at, starts_at);
CREATE INDEX events_posted ON events (posted_at);

CREATE TABLE rsvps (
    event_id  BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    status    TEXT NOT NULL CHECK (status IN ('going', 'maybe', 'no')),
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, person_id)
);

CREATE TABLE subscriptions (
    id         BIGSERIAL PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL DEFAULT '',
    filter     TEXT NOT NULL DEFAULT '',
    frequency  TEXT NOT NULL CHECK (frequency IN ('immediate', 'daily', 'weekly')),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_person ON subscriptions (person_id);

CREATE TABLE notices (
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    item_id   BIGINT NOT NULL,
    digest    BOOLEAN NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, kind, item_id)
);
CREATE INDEX notices_recent ON notices (person_id, digest, at);
