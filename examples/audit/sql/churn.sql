-- Keys whose value changed more than n times
--
-- The most changed first, with who changed them and the values they went through.
-- A change is a PUT that overwrote a different value: creating a key, putting the value it
-- already has and deleting it do not count. Only changes still in history count.
--
-- Parameters (run --set NAME=VALUE):
-- @param n = 2
--   list keys with more than this many changes
-- @param under = /
--   only keys starting with this
SELECT key,
       COUNT(*) AS changes,
       -- each user once, in name order (LISTAGG(DISTINCT ...) ignores WITHIN GROUP in Calcite)
       LISTAGG(CASE WHEN nth_by_user = 1 THEN principal END, ', ') WITHIN GROUP (ORDER BY principal) AS changed_by,
       -- the value before the first change, then every value it was changed to
       MIN(CASE WHEN nth = 1 THEN prev_value END) || ' -> '
           || LISTAGG(value, ' -> ') WITHIN GROUP (ORDER BY revision) AS "values",
       MAX(revision) AS last_revision
FROM (
    SELECT key, revision, value, prev_value, principal,
           ROW_NUMBER() OVER (PARTITION BY key ORDER BY revision) AS nth,
           ROW_NUMBER() OVER (PARTITION BY key, principal ORDER BY revision) AS nth_by_user
    FROM revisions
    WHERE key LIKE '${under}%'
      AND event = 'PUT' AND prev_value IS NOT NULL AND value <> prev_value
) AS c
GROUP BY key
HAVING COUNT(*) > ${n}
-- (Calcite, in etcsql's pragmatic SQL:2003 conformance, does not sort by a select-list alias)
ORDER BY COUNT(*) DESC, key;
