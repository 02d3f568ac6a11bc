-- Claims look only at pending rows, which are few; done rows pile up. Partial
-- indexes keep each claim as cheap as the backlog is short.
DROP INDEX inbox_pending;
DROP INDEX outbox_pending;
DROP INDEX jobs_pending;
CREATE INDEX inbox_pending ON inbox (id) WHERE state = 'pending';
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX jobs_pending ON jobs (next_at, id) WHERE state = 'pending';
