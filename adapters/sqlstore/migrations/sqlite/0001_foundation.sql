-- People, communities, experts, questions, answers and adapter checkpoints.
CREATE TABLE people (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    display_name TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE identities (
    platform  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX identities_person ON identities (person_id);

CREATE TABLE communities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO communities (name, created_at) VALUES ('default', CURRENT_TIMESTAMP);

CREATE TABLE rooms (
    platform     TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (platform, room_id)
);

CREATE TABLE experts (
    person_id    INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    organisation TEXT NOT NULL DEFAULT '',
    available    BOOLEAN NOT NULL,
    away_until   TIMESTAMP NULL,
    daily_budget INTEGER NOT NULL DEFAULT 0,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE expert_topics (
    person_id INTEGER NOT NULL REFERENCES experts (person_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    topic     TEXT NOT NULL,
    PRIMARY KEY (person_id, position)
);

CREATE TABLE expert_languages (
    person_id INTEGER NOT NULL REFERENCES experts (person_id) ON DELETE CASCADE,
    lang      TEXT NOT NULL,
    PRIMARY KEY (person_id, lang)
);

CREATE TABLE questions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id    INTEGER NOT NULL REFERENCES communities (id),
    asker_id        INTEGER NOT NULL REFERENCES people (id),
    body            TEXT NOT NULL,
    lang            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('open', 'routed', 'answered', 'resolved', 'expired')),
    origin_platform TEXT NOT NULL,
    origin_room     TEXT NOT NULL,
    origin_message  TEXT NOT NULL,
    origin_thread   TEXT NOT NULL,
    origin_dm       BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX questions_asker ON questions (asker_id, state);

CREATE TABLE routings (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    expert_id   INTEGER NOT NULL REFERENCES people (id),
    status      TEXT NOT NULL CHECK (status IN ('asked', 'answered')),
    routed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (question_id, expert_id)
);
CREATE INDEX routings_expert ON routings (expert_id, routed_at);

CREATE TABLE answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL REFERENCES people (id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX answers_question ON answers (question_id);

CREATE TABLE checkpoints (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
