-- Leases about to expire
--
-- Leases with less than a number of seconds left, the soonest first, with the keys that are
-- deleted when they expire.
--
-- lease is the id in decimal; etcdctl takes it in hex:
--   etcdctl lease timetolive $(printf '%x' LEASE)
--
-- Parameters (run --set NAME=VALUE):
-- @param seconds = 600
--   list leases with remaining_ttl below this
SELECT l.id AS lease,
       l.granted_ttl,
       l.remaining_ttl,
       l.keys,
       LISTAGG(k.key, ', ') WITHIN GROUP (ORDER BY k.key) AS attached_keys
FROM leases AS l
LEFT JOIN kv AS k ON k.lease = l.id
WHERE l.remaining_ttl < ${seconds}
GROUP BY l.id, l.granted_ttl, l.remaining_ttl, l.keys
ORDER BY l.remaining_ttl, l.id;
