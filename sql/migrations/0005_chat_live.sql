-- Live chat and presence (issue #4). Notifications carry ids, never content: a listener
-- reads the rows through the same row-level security as any other query.
--
-- Channels: each person has a private channel derived from the school's secret and their
-- login name (others cannot guess it; even if they could, it carries only ids). Presence
-- changes go to one school-wide channel, as user ids.

-- -- messages: idempotent sends and who may message whom -------------------------------------
ALTER TABLE messages ADD COLUMN client_key uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE messages ADD CONSTRAINT messages_sender_client_key UNIQUE (sender_id, client_key);
-- One conversation's history, newest first, whichever side sent.
CREATE INDEX messages_conversation_idx
    ON messages (least(sender_id, receiver_id), greatest(sender_id, receiver_id), id DESC);
GRANT INSERT (client_key) ON messages TO {{member}};

-- Staff may message anyone; a student may message staff only. Both ends must be active.
CREATE FUNCTION may_message(p_receiver int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
        WHERE u.id = p_receiver AND u.is_active AND u.id <> school.me()
          AND (school.my_role() <> 'Student' OR r.name <> 'Student'))
$$;
DROP POLICY messages_send ON messages;
CREATE POLICY messages_send ON messages FOR INSERT TO {{member}}
    WITH CHECK (sender_id = (SELECT school.me()) AND school.may_message(receiver_id));

-- -- presence ------------------------------------------------------------------------------
ALTER TABLE online_status ADD COLUMN status text NOT NULL DEFAULT 'offline'
    CHECK (status IN ('online', 'away', 'offline'));
UPDATE online_status SET status = CASE WHEN is_online THEN 'online' ELSE 'offline' END;
-- is_online (the seed's column) stays, and always agrees with status.
ALTER TABLE online_status ADD CONSTRAINT online_status_agrees
    CHECK (is_online = (status <> 'offline'));

-- -- channels -------------------------------------------------------------------------------
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

-- New message: both ends hear its id (the sender's other sessions too).
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

-- The caller's own presence. 'online'/'away' from a live session, 'offline' when it ends.
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

REVOKE ALL ON FUNCTION may_message(int), channel_for_login(text), my_channel(),
    presence_channel(), notify_user(int, text), messages_notify(), online_status_notify(),
    set_my_presence(text), sweep_presence() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION may_message(int), my_channel(), presence_channel(),
    set_my_presence(text), sweep_presence() TO {{member}};
