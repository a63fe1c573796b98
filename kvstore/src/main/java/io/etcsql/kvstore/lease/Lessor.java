package io.etcsql.kvstore.lease;

import com.google.protobuf.ByteString;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.backend.MetaStore;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The replicated part of leases: which leases exist, their TTLs and their keys. Changed only by
 * applying commands (grant, revoke, checkpoint, and puts/deletes that attach or detach keys),
 * so it is identical on every member. Leases are persisted in the {@link MetaStore}; the keys
 * attached to them are rebuilt from the revisions at start-up.
 */
public final class Lessor {
  /** etcd's upper bound for a lease TTL, in seconds. */
  public static final long MAX_LEASE_TTL = 9_000_000_000L;

  private final MetaStore meta;
  private final Map<Long, Lease> leases = new ConcurrentHashMap<>();

  /**
   * Loads the persisted leases and attaches the live keys to them.
   *
   * @param keyLeases key -> lease id of every live key that has a lease
   */
  public Lessor(MetaStore meta, Map<ByteString, Long> keyLeases) {
    this.meta = meta;
    for (Map.Entry<Long, byte[]> e : meta.allLeases().entrySet()) {
      ByteBuffer b = ByteBuffer.wrap(e.getValue());
      long ttl = b.getLong();
      long remaining = b.getLong();
      leases.put(e.getKey(), new Lease(e.getKey(), ttl, remaining));
    }
    for (Map.Entry<ByteString, Long> e : keyLeases.entrySet()) {
      Lease l = leases.get(e.getValue());
      if (l != null) {
        l.keySet().add(e.getKey());
      }
    }
  }

  private static byte[] encode(Lease l) {
    return ByteBuffer.allocate(16).putLong(l.ttl()).putLong(l.remainingTtl()).array();
  }

  /** The lease, or null. */
  public Lease lookup(long id) {
    return leases.get(id);
  }

  public Collection<Lease> leases() {
    return List.copyOf(leases.values());
  }

  /** The encoded persisted form of a lease, or null: for undo records. */
  public byte[] persisted(long id) {
    return meta.lease(id);
  }

  /**
   * Grants lease {@code id} with {@code ttl} seconds.
   *
   * @throws io.etcsql.kvstore.EtcdException LEASE_EXIST, LEASE_TTL_TOO_LARGE
   */
  public Lease grant(long id, long ttl) {
    if (ttl > MAX_LEASE_TTL) {
      throw EtcdError.LEASE_TTL_TOO_LARGE.exception();
    }
    if (leases.containsKey(id)) {
      throw EtcdError.LEASE_EXIST.exception();
    }
    Lease l = new Lease(id, ttl, 0);
    meta.putLease(id, encode(l));
    leases.put(id, l);
    return l;
  }

  /**
   * Removes the lease (its keys must already have been deleted by the caller).
   *
   * @throws io.etcsql.kvstore.EtcdException LEASE_NOT_FOUND
   */
  public void remove(long id) {
    if (leases.remove(id) == null) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    meta.removeLease(id);
  }

  /** Records the leader's measured remaining TTL of a lease; unknown ids are ignored. */
  public void checkpoint(long id, long remainingTtl) {
    Lease l = leases.get(id);
    if (l != null) {
      l.setRemainingTtl(remainingTtl);
      meta.putLease(id, encode(l));
    }
  }

  /** Attaches {@code key} to lease {@code id} (0 = none), detaching it from {@code oldId}. */
  public void attach(ByteString key, long oldId, long id) {
    if (oldId != 0 && oldId != id) {
      Lease old = leases.get(oldId);
      if (old != null) {
        old.keySet().remove(key);
      }
    }
    if (id != 0) {
      Lease l = leases.get(id);
      if (l != null) {
        l.keySet().add(key);
      }
    }
  }

  /** Detaches a deleted key from its lease. */
  public void detach(ByteString key, long id) {
    attach(key, id, 0);
  }

  /** Restores a lease's persisted form from an undo record (null = it did not exist). */
  public static void restore(MetaStore meta, long id, byte[] encoded) {
    if (encoded == null) {
      meta.removeLease(id);
    } else {
      meta.putLease(id, encoded);
    }
  }

}
