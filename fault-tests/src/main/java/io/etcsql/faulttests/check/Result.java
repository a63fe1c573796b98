package io.etcsql.faulttests.check;

/**
 * What a client saw when an {@link Op} completed.
 *
 * <ul>
 *   <li>{@link Status#OK}: the operation took effect exactly once, between its invocation and its completion, and
 *       returned the values below.</li>
 *   <li>{@link Status#FAIL}: the operation definitely did not take effect (e.g. etcd rejected it before it was
 *       replicated). The checker drops it.</li>
 *   <li>{@link Status#UNKNOWN}: timeout, connection reset, ... The operation may have taken effect at any time after
 *       its invocation, even after the client gave up, or never. The checker treats its completion as +infinity
 *       and may linearize it or drop it.</li>
 * </ul>
 *
 * <p>The meaning of the payload depends on the operation kind (only meaningful when {@code status == OK}):
 * <pre>
 *   READ   value = value read (null = key absent), revision = its mod_revision (0 when absent)
 *   WRITE  revision = the revision the put created (header revision); &lt;= 0 if the client did not report it
 *   CAS    succeeded = whether the Txn compare held; revision = the revision created when succeeded
 * </pre>
 *
 * @param status    OK, FAIL or UNKNOWN
 * @param value     READ only: the value read, null when the key was absent
 * @param revision  READ: mod_revision read; WRITE / successful CAS: the new revision; otherwise 0
 * @param succeeded CAS only: whether the compare succeeded
 */
public record Result(Status status, String value, long revision, boolean succeeded) {

  /** Outcome of an operation as seen by the client. */
  public enum Status { OK, FAIL, UNKNOWN }

  public Result {
    if (status == null) {
      throw new IllegalArgumentException("status is required");
    }
  }

  /** A successful read of {@code value} (null = absent) whose mod_revision was {@code modRevision}. */
  public static Result read(String value, long modRevision) {
    return new Result(Status.OK, value, modRevision, false);
  }

  /** A successful write (or successful CAS, see {@link #casSucceeded}) that created {@code revision}. */
  public static Result written(long revision) {
    return new Result(Status.OK, null, revision, true);
  }

  /** A CAS whose compare held and which created {@code revision}. */
  public static Result casSucceeded(long revision) {
    return new Result(Status.OK, null, revision, true);
  }

  /** A CAS whose compare did not hold: nothing was written. */
  public static Result casFailed() {
    return new Result(Status.OK, null, 0, false);
  }

  /** The operation definitely did not take effect. */
  public static Result fail() {
    return new Result(Status.FAIL, null, 0, false);
  }

  /** The operation may or may not have taken effect. */
  public static Result unknown() {
    return new Result(Status.UNKNOWN, null, 0, false);
  }

  public boolean isOk() {
    return status == Status.OK;
  }

  public boolean isUnknown() {
    return status == Status.UNKNOWN;
  }
}
