-- Quiet hours per expert, in minutes of the day in the network's time zone;
-- -1 means none.
ALTER TABLE experts ADD COLUMN quiet_from INTEGER NOT NULL DEFAULT -1;
ALTER TABLE experts ADD COLUMN quiet_to INTEGER NOT NULL DEFAULT -1;
