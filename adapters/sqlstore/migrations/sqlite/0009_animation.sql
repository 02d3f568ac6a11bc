-- Animating communities: roles, the digests animators publish, and the
-- one-time tokens of the login links to the web page.
CREATE TABLE roles (
    community_id INTEGER NOT NULL REFERENCES communities (id),
    person_id    INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('animator', 'admin')),
    granted_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (community_id, person_id, role)
);

CREATE TABLE digests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    period_start TIMESTAMP NOT NULL,
    period_end   TIMESTAMP NOT NULL,
    intro        TEXT NOT NULL DEFAULT '',
    items        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('draft', 'published')),
    published_at TIMESTAMP NULL,
    editor_id    INTEGER NULL REFERENCES people (id) ON DELETE SET NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (community_id, period_end)
);

CREATE TABLE login_tokens (
    hash         TEXT PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP NULL
);

CREATE INDEX questions_community_created ON questions (community_id, created_at);
