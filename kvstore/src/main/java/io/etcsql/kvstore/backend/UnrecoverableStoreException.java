package io.etcsql.kvstore.backend;

/**
 * The files on disk no longer match what the member serves, and going on would lose or corrupt
 * writes: the process must stop (etcd panics on the same kind of backend failure). What is on
 * disk is consistent up to the last applied command, so a restart recovers from it and Raft.
 */
public final class UnrecoverableStoreException extends RuntimeException {
  public UnrecoverableStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
