-- Who changed a key, and when
--
-- Every change of one key still in history, oldest first: its revision, commit time (UTC), the
-- etcd user whose request made it (principal; empty for changes made with auth off and for
-- deletes by lease expiry) and the value before -> after.
--
-- Parameters (run --set NAME=VALUE):
-- @param key = /config/web/timeout
--   the key (exactly; the condition is the key range of the scan of revisions)
SELECT revision,
       committed_at,
       principal,
       event,
       CASE WHEN event = 'DELETE' THEN prev_value || ' -> (deleted)'
            ELSE COALESCE(prev_value, '(new)') || ' -> ' || value END AS change
FROM revisions
WHERE key = '${key}'
ORDER BY revision;
