-- Who may post offers and events in a community: 'anyone' (the default) or
-- 'animators' (its animators and administrators; feeds and calendars still
-- bring their items).
ALTER TABLE communities ADD COLUMN posting TEXT NOT NULL DEFAULT 'anyone' CHECK (posting IN ('anyone', 'animators'));
