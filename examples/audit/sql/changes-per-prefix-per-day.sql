-- Changes per key prefix per day
--
-- How many PUTs and DELETEs each key prefix took on each day, and by which etcd users.
-- The prefix is a key's first two path segments (/config/web for /config/web/timeout; a key with
-- fewer segments is its own prefix); the day is the UTC date of committed_at. Only changes still
-- in history count (nothing before the compaction point). A delete by lease expiry has no user.
--
-- Parameters (run --set NAME=VALUE):
-- @param under = /
--   only keys starting with this (the LIKE becomes the key range of the scan of revisions)
WITH slashes AS (
    -- where the second and third '/' are (0: none); Calcite's standard functions have no
    -- regular expressions, so POSITION ... FROM twice
    SELECT revision, key, committed_at, event, principal,
           CASE WHEN slash2 > 0 THEN POSITION('/' IN key FROM slash2 + 1) ELSE 0 END AS slash3
    FROM (
        SELECT revision, key, committed_at, event, principal, POSITION('/' IN key FROM 2) AS slash2
        FROM revisions
        WHERE key LIKE '${under}%'
    ) AS r
),
changes AS (
    SELECT CAST(committed_at AS DATE) AS day,
           CASE WHEN slash3 > 0 THEN SUBSTRING(key FROM 1 FOR slash3 - 1) ELSE key END AS prefix,
           revision, event, principal
    FROM slashes
)
SELECT day,
       prefix,
       SUM(CASE WHEN event = 'PUT' THEN 1 ELSE 0 END) AS puts,
       SUM(CASE WHEN event = 'DELETE' THEN 1 ELSE 0 END) AS deletes,
       -- each user once, in name order: LISTAGG(DISTINCT ...) ignores its WITHIN GROUP order
       -- in Calcite, so only a user's first change of the group is listed
       LISTAGG(CASE WHEN nth = 1 THEN principal END, ', ') WITHIN GROUP (ORDER BY principal) AS principals
FROM (
    SELECT day, prefix, event, principal,
           ROW_NUMBER() OVER (PARTITION BY day, prefix, principal ORDER BY revision) AS nth
    FROM changes
) AS c
GROUP BY day, prefix
ORDER BY day, prefix;
