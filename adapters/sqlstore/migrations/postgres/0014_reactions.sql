-- Reactions that stand for buttons (Matrix has none): one row per emoji
-- offered under a sent message, with the command a person's reaction with
-- it runs. Written when the message is marked sent, read when a reaction
-- arrives, purged bots.ReactionsKept after the messages themselves.
CREATE TABLE reactions (
    platform    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    reaction    TEXT NOT NULL,
    command     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, message_id, reaction)
);
CREATE INDEX reactions_created ON reactions (created_at);
