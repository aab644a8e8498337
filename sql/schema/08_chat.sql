-- =====================================================================================
-- Chat and presence. Notifications carry ids, never content: a listener reads the rows
-- through the same row-level security as any other query.
--
-- Channels: each person has a private channel derived from the school's secret and their
-- login name (others cannot guess it; even if they could, it carries only ids). Presence
-- changes go to one school-wide channel, as user ids.
-- =====================================================================================

CREATE TABLE messages (
    id          bigserial PRIMARY KEY,
    sender_id   int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    receiver_id int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message     text NOT NULL CHECK (message ~ '[^[:space:]]' AND length(message) <= 4000),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    is_read     boolean NOT NULL DEFAULT false,
    -- The sender's idempotency key: a send retried after a lost reply is stored once.
    client_key  uuid NOT NULL DEFAULT gen_random_uuid(),
    -- The transaction that wrote the message. Ids are taken at INSERT but become visible at
    -- COMMIT, so after a reconnect the listener cannot tell from ids alone which messages it
    -- may have missed. A snapshot's xmin is the oldest transaction still running when it was
    -- taken: every message written by an older one had committed (or never will) by then.
    -- The listener remembers the xmin of a snapshot taken while it was listening with
    -- everything before it handled (school_tui/live: "the horizon"), and after a reconnect
    -- re-reads exactly the messages with xact >= that horizon. Members' INSERT grants leave
    -- this column out: the default always applies.
    xact        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CHECK (sender_id <> receiver_id),
    CONSTRAINT messages_sender_client_key UNIQUE (sender_id, client_key)
);
CREATE INDEX messages_receiver_idx ON messages (receiver_id, id);
CREATE INDEX messages_sender_idx ON messages (sender_id, id);
CREATE INDEX messages_unread_idx ON messages (receiver_id) WHERE NOT is_read;
-- One conversation's history, newest first, whichever side sent.
CREATE INDEX messages_conversation_idx
    ON messages (least(sender_id, receiver_id), greatest(sender_id, receiver_id), id DESC);
-- The backfill reads a range of xact (xid8's comparisons are leakproof, so the index serves
-- under row-level security).
CREATE INDEX messages_xact_idx ON messages (xact);

SELECT audit_table('school.messages', 'message');

-- Presence: 'online' or 'away' while the person has a live session, else 'offline'.
-- is_online always agrees with status. Not under audit: presence is no school data, and it
-- changes every few minutes per person. Logins and logouts are audited through the login
-- record (users.last_login, users.last_logout).
CREATE TABLE online_status (
    user_id   int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    is_online boolean NOT NULL DEFAULT false,
    last_seen timestamptz,
    status    text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'away', 'offline')),
    CONSTRAINT online_status_agrees CHECK (is_online = (status <> 'offline'))
);

-- =====================================================================================
-- Who may message whom
-- =====================================================================================
-- Staff may message anyone; a student may message staff only. Both ends must be active.
CREATE FUNCTION may_message(p_receiver int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
        WHERE u.id = p_receiver AND u.is_active AND u.id <> school.me()
          AND (school.my_role() <> 'Student' OR r.name <> 'Student'))
$$;

-- =====================================================================================
-- Channels and notifications
-- =====================================================================================
CREATE FUNCTION channel_for_login(p_login text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT 'st_' || left(encode(sha256(i.secret || convert_to('chan:' || p_login, 'UTF8')), 'hex'), 32)
    FROM school.instance i
$$;

CREATE FUNCTION my_channel() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT school.channel_for_login(session_user)
$$;

CREATE FUNCTION presence_channel() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT 'st_' || left(encode(sha256(i.secret || convert_to('presence', 'UTF8')), 'hex'), 32)
    FROM school.instance i
$$;

CREATE FUNCTION notify_user(p_user_id int, p_payload text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT pg_notify(school.channel_for_login(u.login_role), p_payload)
    FROM school.users u WHERE u.id = p_user_id
$$;

-- New message: both ends hear its id (the sender's other sessions too); read: both hear it.
CREATE FUNCTION messages_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM school.notify_user(NEW.receiver_id, 'm:' || NEW.id);
        PERFORM school.notify_user(NEW.sender_id, 'm:' || NEW.id);
    ELSIF NEW.is_read AND NOT OLD.is_read THEN
        PERFORM school.notify_user(NEW.sender_id, 'r:' || NEW.id);
        PERFORM school.notify_user(NEW.receiver_id, 'r:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_notify AFTER INSERT OR UPDATE OF is_read ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_notify();

CREATE FUNCTION online_status_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify(school.presence_channel(), 'p:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER online_status_notify AFTER INSERT OR UPDATE OF status ON online_status
    FOR EACH ROW EXECUTE FUNCTION online_status_notify();

-- A person sends at most so many messages and characters a minute (write_limits). Rows
-- the owner writes (the demo school, a restore) are no person's sending.
CREATE FUNCTION messages_rate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM school.users WHERE login_role = session_user) THEN
        RETURN NEW;
    END IF;
    PERFORM school.count_write(NEW.sender_id, 'chat message', length(NEW.message));
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_rate BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_rate();

-- =====================================================================================
-- Presence
-- =====================================================================================
-- The caller's own presence: 'online'/'away' from a live session, 'offline' when it ends,
-- which is the person's logout: it is stamped on their users row (the login record).
CREATE FUNCTION set_my_presence(p_status text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_me int := school.me();
BEGIN
    IF v_me IS NULL THEN
        RETURN;
    END IF;
    IF p_status NOT IN ('online', 'away', 'offline') THEN
        RAISE EXCEPTION 'status: must be online, away or offline' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO school.online_status AS o (user_id, is_online, status, last_seen)
    VALUES (v_me, p_status <> 'offline', p_status, now())
    ON CONFLICT (user_id) DO UPDATE
        SET is_online = EXCLUDED.is_online, status = EXCLUDED.status, last_seen = now()
        WHERE o.status IS DISTINCT FROM EXCLUDED.status OR o.last_seen < now() - interval '10 seconds';
    -- at most once a minute: each stamp is an audit row, and calls in a loop must not grow it
    IF p_status = 'offline' THEN
        UPDATE school.users SET last_logout = now()
         WHERE id = v_me AND (last_logout IS NULL OR last_logout <= now() - interval '1 minute');
    END IF;
END
$$;

-- Presence is true only while the person has a live listener connection (application_name
-- 'school-tui listener'). Any session's listener calls this every few seconds (the sweep), so a
-- killed process or a server-side-dropped connection turns its person offline for everyone
-- within one sweep interval. A session marks itself online/away; only this marks offline
-- sessions that ended without saying so.
CREATE FUNCTION sweep_presence() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    PERFORM school.end_stuck_sessions();  -- what nobody may hold for long (11_limits.sql)
    UPDATE school.online_status o SET status = 'offline', is_online = false
    FROM school.users u
    WHERE u.id = o.user_id AND o.status <> 'offline'
      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                      WHERE a.usename = u.login_role
                        AND a.application_name = 'school-tui listener');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

-- =====================================================================================
-- Grants and row-level security
-- =====================================================================================
GRANT EXECUTE ON FUNCTION may_message(int), my_channel(), presence_channel(),
    set_my_presence(text), sweep_presence() TO {{member}};

-- messages: the two ends read; the sender writes as themself, to someone they may message;
-- the receiver marks read. A person with a temporary password sees none (me() is NULL).
GRANT SELECT ON messages TO {{member}};
GRANT INSERT (sender_id, receiver_id, message, client_key) ON messages TO {{member}};
GRANT UPDATE (is_read) ON messages TO {{member}};
GRANT USAGE ON SEQUENCE messages_id_seq TO {{member}};
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_ends_read ON messages FOR SELECT TO {{member}}
    USING ((SELECT school.me()) IN (sender_id, receiver_id));
CREATE POLICY messages_send ON messages FOR INSERT TO {{member}}
    WITH CHECK (sender_id = (SELECT school.me()) AND school.may_message(receiver_id));
CREATE POLICY messages_mark_read ON messages FOR UPDATE TO {{member}}
    USING (receiver_id = (SELECT school.me())) WITH CHECK (receiver_id = (SELECT school.me()));

-- Everyone reads presence; each person writes their own through set_my_presence.
GRANT SELECT ON online_status
    TO {{admin}}, {{principal}}, {{coordinator}}, {{teacher}}, {{student}}, {{guidance}},
       {{registrar}}, {{accounting}};
