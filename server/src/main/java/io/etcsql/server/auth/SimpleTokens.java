package io.etcsql.server.auth;

import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import java.security.SecureRandom;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongPredicate;

/**
 * etcd's simple tokens: 16 random letters, a dot and the Raft index of the Authenticate command
 * that registered the token on every member. A token dies after {@code ttl} without use
 * ({@code --auth-token-ttl}, 300 s by default), when its user is deleted or changes password, and
 * when the member restarts. Not signed: anyone who sees one can use it, as in etcd.
 */
public final class SimpleTokens implements Tokens {
  private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  private static final int LENGTH = 16;
  /** How long a call with a token of a command not yet applied here waits for it. */
  private static final long WAIT_FOR_INDEX_MS = 5_000;

  private record Entry(String user, long lastUsedNanos) {}

  private final SecureRandom random = new SecureRandom();
  private final Map<String, Entry> tokens = new ConcurrentHashMap<>();
  private final long ttlNanos;
  private final LongPredicate waitForApplied;

  /**
   * @param waitForApplied waits (bounded) until this member has applied the given Raft index;
   *     true once it has
   */
  public SimpleTokens(java.time.Duration ttl, LongPredicate waitForApplied) {
    this.ttlNanos = ttl.toNanos();
    this.waitForApplied = waitForApplied;
  }

  @Override
  public String newSimplePrefix() {
    StringBuilder b = new StringBuilder(LENGTH);
    for (int i = 0; i < LENGTH; i++) {
      b.append(LETTERS.charAt(random.nextInt(LETTERS.length())));
    }
    return b.toString();
  }

  @Override
  public void registered(String name, String token) {
    long now = System.nanoTime();
    tokens.put(token, new Entry(name, now));
    expire(now);
  }

  @Override
  public String assign(String name, long revision, String simpleToken) {
    return simpleToken;
  }

  @Override
  public AuthHeader info(String token, long currentRevision) {
    Entry e = tokens.get(token);
    if (e == null) {
      // issued by a command this member may not have applied yet
      int dot = token.lastIndexOf('.');
      if (dot < 0) {
        return null;
      }
      long index;
      try {
        index = Long.parseLong(token.substring(dot + 1));
      } catch (NumberFormatException notOurs) {
        return null;
      }
      if (!waitForApplied.test(index) || (e = tokens.get(token)) == null) {
        return null;
      }
    }
    long now = System.nanoTime();
    if (now - e.lastUsedNanos() > ttlNanos) {
      tokens.remove(token, e);
      return null;
    }
    tokens.replace(token, e, new Entry(e.user(), now));
    // etcd: a simple token is checked against the store's current revision, never "old"
    return AuthHeader.newBuilder().setUsername(e.user()).setAuthRevision(currentRevision).build();
  }

  @Override
  public void clear() {
    tokens.clear();
  }

  @Override
  public void invalidateUser(String name) {
    tokens.values().removeIf(e -> e.user().equals(name));
  }

  /** Drops the tokens left unused longer than the TTL. */
  private void expire(long now) {
    for (Iterator<Entry> it = tokens.values().iterator(); it.hasNext(); ) {
      if (now - it.next().lastUsedNanos() > ttlNanos) {
        it.remove();
      }
    }
  }

  /** Tokens currently valid (for tests). */
  int size() {
    return tokens.size();
  }
}
