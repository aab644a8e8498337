-- 0010: an exact backfill for the chat listener (issue #4).
--
-- Ids are taken at INSERT but become visible at COMMIT, so after a reconnect the listener
-- cannot know from ids alone which messages it may have missed: 0005's answer was to re-read
-- a window of ids below the highest seen, which misses a message whose transaction committed
-- (while the listener was down) more than that window below the top.
--
-- Every message now records the transaction that wrote it. A snapshot's xmin is the oldest
-- transaction still running when it was taken: every message written by an older one had
-- committed (or never will) by then. So the listener remembers the xmin of a snapshot taken
-- while it was listening with everything before it handled (live_chat.py: "the horizon"), and
-- after a reconnect re-reads exactly the messages with xact >= that horizon. Nothing a
-- listener missed is older than that, whatever its id.
--
-- Members have column INSERT grants that leave this column out: the default always applies.

ALTER TABLE messages ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
-- The backfill reads a range of it (xid8's comparisons are leakproof, so the index serves
-- under row-level security).
CREATE INDEX messages_xact_idx ON messages (xact);
