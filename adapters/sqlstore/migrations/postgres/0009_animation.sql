-- Animating communities: roles, the digests animators publish, and the
-- one-time tokens of the login links to the web page.
CREATE TABLE roles (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('animator', 'admin')),
    granted_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (community_id, person_id, role)
);

CREATE TABLE digests (
    id           BIGSERIAL PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id),
    period_start TIMESTAMPTZ NOT NULL,
    period_end   TIMESTAMPTZ NOT NULL,
    intro        TEXT NOT NULL DEFAULT '',
    items        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('draft', 'published')),
    published_at TIMESTAMPTZ NULL,
    editor_id    BIGINT NULL REFERENCES people (id) ON DELETE SET NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (community_id, period_end)
);

CREATE TABLE login_tokens (
    hash         TEXT PRIMARY KEY,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL REFERENCES communities (id),
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ NULL
);

CREATE INDEX questions_community_created ON questions (community_id, created_at);
