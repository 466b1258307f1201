-- 0002: what the delivery workers need to resume after a crash and to
-- retry later: the message whose send is under way, and when a row may be
-- claimed again.

-- The index, in the lesson's list of messages, of the message whose send
-- is under way; NULL when none is. A row found 'sending' with an expired
-- lease and an inflight message may or may not have posted it.
ALTER TABLE deliveries ADD COLUMN inflight integer;

-- When the row may be claimed: its slot, or later for a retry.
ALTER TABLE deliveries ADD COLUMN due_at bigint NOT NULL DEFAULT 0;
UPDATE deliveries SET due_at = slot;

CREATE INDEX deliveries_state_due ON deliveries (state, due_at);
