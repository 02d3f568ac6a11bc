-- One person across platforms, access rules, and privacy: the codes that
-- link accounts, the tenant (workspace, server) each account was last seen
-- in, the audit log of accesses to pseudonymous askers, erased people.
ALTER TABLE identities ADD COLUMN preferred BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE identities ADD COLUMN linked_at TIMESTAMP NULL;
ALTER TABLE people ADD COLUMN erased_at TIMESTAMP NULL;

CREATE TABLE link_codes (
    hash       TEXT PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE identity_tenants (
    platform TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    tenant   TEXT NOT NULL,
    seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (platform, user_id)
);

CREATE TABLE access_rules (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    rule         TEXT NOT NULL,
    added_by     INTEGER NULL REFERENCES people (id) ON DELETE SET NULL,
    added_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (community_id, rule)
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TIMESTAMP NOT NULL,
    action      TEXT NOT NULL,
    question_id INTEGER NOT NULL,
    subject_id  INTEGER NOT NULL,
    actor       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject_id);
CREATE INDEX answers_author ON answers (author_id);
