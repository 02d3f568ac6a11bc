-- One person across platforms, access rules, and privacy: the codes that
-- link accounts, the tenant (workspace, server) each account was last seen
-- in, the audit log of accesses to pseudonymous askers, erased people.
ALTER TABLE identities ADD COLUMN preferred BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE identities ADD COLUMN linked_at TIMESTAMPTZ NULL;
ALTER TABLE people ADD COLUMN erased_at TIMESTAMPTZ NULL;

CREATE TABLE link_codes (
    hash       TEXT PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE identity_tenants (
    platform TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    tenant   TEXT NOT NULL,
    seen_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, user_id)
);

CREATE TABLE access_rules (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    rule         TEXT NOT NULL,
    added_by     BIGINT NULL REFERENCES people (id) ON DELETE SET NULL,
    added_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (community_id, rule)
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT NOT NULL,
    question_id BIGINT NOT NULL,
    subject_id  BIGINT NOT NULL,
    actor       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject_id);
CREATE INDEX answers_author ON answers (author_id);
