-- An expert may pass on a question ("not my area"): routings gain the status
-- 'passed'. SQLite cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE routings_new (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    expert_id   INTEGER NOT NULL REFERENCES people (id),
    status      TEXT NOT NULL CHECK (status IN ('asked', 'answered', 'passed')),
    routed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (question_id, expert_id)
);
INSERT INTO routings_new (question_id, expert_id, status, routed_at)
    SELECT question_id, expert_id, status, routed_at FROM routings;
DROP TABLE routings;
ALTER TABLE routings_new RENAME TO routings;
CREATE INDEX routings_expert ON routings (expert_id, routed_at);
