-- A message is in doubt once the send of it began and until its platform
-- answers: set just before a send by senders that can look a message up by
-- its key (Slack, in the message's metadata); a retry keeps it, unless the
-- platform refused the message outright (a 429). A process that claims a
-- message in doubt (its sender died mid-send, or the reply was lost) looks
-- for it on the platform before posting it again.
ALTER TABLE outbox ADD COLUMN in_doubt BOOLEAN NOT NULL DEFAULT FALSE;
