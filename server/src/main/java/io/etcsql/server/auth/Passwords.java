package io.etcsql.server.auth;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * bcrypt password hashes (BouncyCastle's OpenBSD bcrypt, the "$2a$" format Go's bcrypt package
 * writes, so hashes read the same as etcd's). Hashing happens on the member that receives the
 * request, before it is replicated: applying never hashes.
 */
public final class Passwords {
  /** etcd's --bcrypt-cost default (Go's bcrypt.DefaultCost), and the accepted range. */
  public static final int DEFAULT_COST = 10;
  public static final int MIN_COST = 4;
  public static final int MAX_COST = 31;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final int cost;

  public Passwords(int cost) {
    this.cost = cost;
  }

  public ByteString hash(String password) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return ByteString.copyFromUtf8(OpenBSDBCrypt.generate("2a", password.getBytes(StandardCharsets.UTF_8), salt, cost));
  }

  public static boolean matches(ByteString hash, String password) {
    if (hash.isEmpty()) {
      return false;
    }
    try {
      return OpenBSDBCrypt.checkPassword(hash.toString(StandardCharsets.UTF_8), password.getBytes(StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | org.bouncycastle.crypto.DataLengthException badHash) {
      return false;
    }
  }
}
