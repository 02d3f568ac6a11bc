-- An expert may pass on a question ("not my area"): routings gain the status
-- 'passed'.
ALTER TABLE routings DROP CONSTRAINT routings_status_check;
ALTER TABLE routings ADD CONSTRAINT routings_status_check CHECK (status IN ('asked', 'answered', 'passed'));
