-- Pseudonymous questions: the asker's name is hidden from experts and rooms;
-- asker_id stays, used only to relay answers back.
ALTER TABLE questions ADD COLUMN anonymous BOOLEAN NOT NULL DEFAULT FALSE;
