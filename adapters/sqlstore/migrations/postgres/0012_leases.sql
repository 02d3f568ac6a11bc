-- Leases: one row per named lease (such as platform/matrix), held by one
-- process at a time until expires_at and renewed by it; owner is empty once
-- released. fence grows by one with each new term, never resets.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    fence       BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
