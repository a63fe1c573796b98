-- The configuration as it was at a revision
--
-- Every key under a prefix as kv_at(rev) reads it, with the revision and the etcd user that had
-- set each value, and what each of those keys holds now.
--
-- Parameters (run --set NAME=VALUE):
-- @param rev
--   the revision (no default: `run --load-sample` passes the revision between the sample's two
--   phases; `etcdctl endpoint status -w json` shows the current one). A revision below the
--   compaction point is an error naming the oldest one still readable.
-- @param under = /config/
--   only keys starting with this
SELECT k.key,
       k.value,
       k.mod_revision AS set_at_revision,
       r.principal AS set_by,
       CASE WHEN n.key IS NULL THEN '(deleted)' WHEN n.value = k.value THEN '(same)' ELSE n.value END AS value_now
FROM kv_at(${rev}) AS k
-- the change that wrote the value, for its user
LEFT JOIN (
    SELECT key, revision, principal FROM revisions WHERE key LIKE '${under}%'
) AS r ON r.key = k.key AND r.revision = k.mod_revision
LEFT JOIN (
    SELECT key, value FROM kv WHERE key LIKE '${under}%'
) AS n ON n.key = k.key
WHERE k.key LIKE '${under}%'
ORDER BY k.key;
