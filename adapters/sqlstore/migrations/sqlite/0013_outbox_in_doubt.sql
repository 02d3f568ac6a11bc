-- A message is in doubt once the send of it began, until its platform
-- answers: set just before a send by senders that can look a message up by
-- its key (Slack, in the message's metadata), cleared by a retry. A process
-- that claims a message in doubt (its sender died mid-send) looks for it on
-- the platform before posting it again.
ALTER TABLE outbox ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0;
