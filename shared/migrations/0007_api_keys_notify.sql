-- Every process caches the keys it has looked up (shared.auth.KeyCache) and empties its cache on
-- this notification (its payload, the transaction id, is what the cache confirms on api_keys_seen):
-- a key registered, revoked or deleted, by the CLI or by hand, is seen at commit.
CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_keys', txid_current()::text);
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION api_keys_notify();
