-- The configuration as it was at a moment
--
-- Every key under a prefix as kv_as_of(moment) reads it (at the newest revision committed at or
-- before the moment), with the revision and the etcd user that had set each value, and what each
-- of those keys holds now.
--
-- Parameters (run --set NAME=VALUE):
-- @param at
--   the moment, 'yyyy-MM-dd HH:mm:ss[.SSS]' in UTC or ISO-8601 with an offset
--   (2026-12-06T10:30:00+01:00). No default: `run --load-sample` passes a moment between the
--   sample's two phases. A moment before the oldest revision still held is an error.
-- @param under = /config/
--   only keys starting with this
SELECT k.key,
       k.value,
       k.mod_revision AS set_at_revision,
       r.principal AS set_by,
       CASE WHEN n.key IS NULL THEN '(deleted)' WHEN n.value = k.value THEN '(same)' ELSE n.value END AS value_now
FROM kv_as_of('${at}') AS k
-- the change that wrote the value, for its user
LEFT JOIN (
    SELECT key, revision, principal FROM revisions WHERE key LIKE '${under}%'
) AS r ON r.key = k.key AND r.revision = k.mod_revision
LEFT JOIN (
    SELECT key, value FROM kv WHERE key LIKE '${under}%'
) AS n ON n.key = k.key
WHERE k.key LIKE '${under}%'
ORDER BY k.key;
