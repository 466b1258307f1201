-- 0009: the platform updates handled, so that an update that arrives
-- again (Telegram sends a webhook call again when it got no 200 in time),
-- at this instance or another, is handled once.

-- An update is claimed by the instance handling it (holder) until until
-- (unix ms): another instance that receives it meanwhile answers "later",
-- and one that receives it after until takes it over (the first died).
-- done_at is set once its handling has ended. Rows are forgotten after a
-- few days: Telegram keeps an update 24 hours at most.
CREATE TABLE inbound_updates (
    bot         text   NOT NULL,
    update_id   bigint NOT NULL,
    holder      text   NOT NULL,
    until       bigint NOT NULL,
    received_at bigint NOT NULL,
    done_at     bigint,
    PRIMARY KEY (bot, update_id)
);

CREATE INDEX inbound_updates_received ON inbound_updates (received_at);
