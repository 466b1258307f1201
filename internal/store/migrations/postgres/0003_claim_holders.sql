-- 0003: who holds each claim, and messages that may or may not have
-- arrived.

-- The process that claimed a delivery being sent (its holder id), NULL when
-- no one holds it. The writes of a claim name their holder, and a process
-- that holds the database lock takes over at once every claim of another.
ALTER TABLE deliveries ADD COLUMN claimed_by text;

-- How many of the delivery's messages may or may not have arrived: a send
-- cut short after its request was written, or under way at a crash. They
-- are not sent again (unless delivery.resend_unknown); the messages after
-- them are, except after an uncertain post.
ALTER TABLE deliveries ADD COLUMN unknown integer NOT NULL DEFAULT 0;
UPDATE deliveries SET unknown = 1 WHERE state = 'unknown';

-- A holder renews all its claims at once, and a new holder finds the others'.
CREATE INDEX deliveries_claimed_by ON deliveries (claimed_by) WHERE state = 'sending';

-- One entry of the schedule: the active subscriptions of one time, zone and
-- days, read when that entry fires.
CREATE INDEX subscriptions_schedule ON subscriptions (hour, minute, zone, weekdays) WHERE active = 1;
