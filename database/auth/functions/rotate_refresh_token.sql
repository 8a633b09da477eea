CREATE OR REPLACE FUNCTION auth.rotate_refresh_token(
    p_token_hash text,
    p_new_hash text,
    p_grace_seconds integer,
    p_ttl_seconds integer
)
RETURNS TABLE (outcome text, user_id uuid, tenant_id uuid, family_id uuid, role text)
LANGUAGE plpgsql
SECURITY INVOKER
AS $$
-- One refresh. A family has one live leaf: rotating it spends it and ends any unused twin.
-- Inside the grace window the token just spent may be presented again (two tabs refreshing at
-- once) while none of its children has been used; any other reuse revokes the whole family.
DECLARE
    t auth.refresh_token%ROWTYPE;
    v_family uuid;
    v_role text;
BEGIN
    SELECT r.family_id INTO v_family FROM auth.refresh_token r WHERE r.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    -- Rotations of one family take turns, so reuse detection always sees the family whole.
    PERFORM pg_advisory_xact_lock(hashtext('auth.refresh_token'), hashtext(v_family::text));
    SELECT * INTO t FROM auth.refresh_token r WHERE r.token_hash = p_token_hash FOR UPDATE;
    IF t.revoked_at IS NOT NULL OR t.expires_at <= now() THEN
        RETURN QUERY SELECT CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' ELSE 'expired' END,
            t.user_id, t.tenant_id, t.family_id, NULL::text;
        RETURN;
    END IF;
    SELECT m.role INTO v_role FROM auth.membership m
     WHERE m.tenant_id = t.tenant_id AND m.user_id = t.user_id;
    IF v_role IS NULL THEN
        UPDATE auth.refresh_token r SET revoked_at = now()
         WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'no_membership'::text, t.user_id, t.tenant_id, t.family_id, NULL::text;
        RETURN;
    END IF;
    IF t.used_at IS NOT NULL THEN
        IF t.used_at > now() - make_interval(secs => p_grace_seconds)
           AND NOT EXISTS (
               SELECT 1 FROM auth.refresh_token c
                WHERE c.parent_id = t.id AND (c.used_at IS NOT NULL OR c.revoked_at IS NOT NULL)
           ) THEN
            INSERT INTO auth.refresh_token (token_hash, family_id, parent_id, user_id, tenant_id, expires_at)
            VALUES (p_new_hash, t.family_id, t.id, t.user_id, t.tenant_id,
                    now() + make_interval(secs => p_ttl_seconds));
            RETURN QUERY SELECT 'grace'::text, t.user_id, t.tenant_id, t.family_id, v_role;
            RETURN;
        END IF;
        UPDATE auth.refresh_token r SET revoked_at = now()
         WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'reused'::text, t.user_id, t.tenant_id, t.family_id, NULL::text;
        RETURN;
    END IF;
    UPDATE auth.refresh_token r SET used_at = now() WHERE r.id = t.id;
    UPDATE auth.refresh_token r SET revoked_at = now()
     WHERE r.parent_id = t.parent_id AND r.id <> t.id
       AND r.used_at IS NULL AND r.revoked_at IS NULL;
    INSERT INTO auth.refresh_token (token_hash, family_id, parent_id, user_id, tenant_id, expires_at)
    VALUES (p_new_hash, t.family_id, t.id, t.user_id, t.tenant_id,
            now() + make_interval(secs => p_ttl_seconds));
    RETURN QUERY SELECT 'rotated'::text, t.user_id, t.tenant_id, t.family_id, v_role;
END;
$$;
