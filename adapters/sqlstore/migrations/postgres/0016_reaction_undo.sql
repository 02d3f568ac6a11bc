-- The command that taking a reaction back runs (bots.Action.Unreact):
-- "rsvp 12 withdraw going" for the 👍 under an event's card; '' for none.
ALTER TABLE reactions ADD COLUMN undo TEXT NOT NULL DEFAULT '';
