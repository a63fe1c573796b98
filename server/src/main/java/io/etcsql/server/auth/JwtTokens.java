package io.etcsql.server.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.interfaces.DecodedJWT;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * etcd's JWT tokens ({@code --auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=5m}):
 * signed claims {@code username}, {@code revision} and {@code exp}, checked by every member with
 * the public key; no member needs to have seen the token before. With only a public key the
 * member verifies and cannot issue tokens. RS256/384/512, ES256/384/512 (PEM keys) and
 * HS256/384/512 (the private key file's bytes as the secret).
 */
public final class JwtTokens implements Tokens {
  private final Algorithm algorithm;
  private final boolean verifyOnly;
  private final Duration ttl;

  private JwtTokens(Algorithm algorithm, boolean verifyOnly, Duration ttl) {
    this.algorithm = algorithm;
    this.verifyOnly = verifyOnly;
    this.ttl = ttl;
  }

  /** Reads the keys; IllegalArgumentException with etcd's auth error texts on bad options. */
  public static JwtTokens load(String signMethod, Path publicKey, Path privateKey, Duration ttl) throws IOException {
    if (signMethod == null || signMethod.isEmpty()) {
      throw new IllegalArgumentException("auth: invalid auth signature method");
    }
    String family = signMethod.substring(0, 2);
    String bits = signMethod.substring(2);
    if (!bits.equals("256") && !bits.equals("384") && !bits.equals("512")) {
      throw new IllegalArgumentException("auth: invalid auth signature method");
    }
    switch (family) {
      case "HS" -> {
        if (privateKey == null) {
          throw new IllegalArgumentException("auth: missing key data");
        }
        byte[] secret = Files.readAllBytes(privateKey);
        Algorithm a = switch (bits) {
          case "256" -> Algorithm.HMAC256(secret);
          case "384" -> Algorithm.HMAC384(secret);
          default -> Algorithm.HMAC512(secret);
        };
        return new JwtTokens(a, false, ttl);
      }
      case "RS", "ES" -> {
        if (publicKey == null && privateKey == null) {
          throw new IllegalArgumentException("auth: missing key data");
        }
        PublicKey pub = publicKey == null ? null : readPublic(publicKey);
        PrivateKey priv = null;
        if (privateKey != null) {
          KeyPair pair = readPrivate(privateKey);
          priv = pair.getPrivate();
          if (pub == null) {
            pub = pair.getPublic();
          } else if (pair.getPublic() != null && !pair.getPublic().equals(pub)) {
            throw new IllegalArgumentException("auth: public and private keys don't match");
          }
        }
        if (pub == null) {
          throw new IllegalArgumentException("auth: missing key data");
        }
        Algorithm a;
        if (family.equals("RS")) {
          if (!(pub instanceof RSAPublicKey rsa)) {
            throw new IllegalArgumentException("auth: invalid auth signature method");
          }
          RSAPrivateKey p = (RSAPrivateKey) priv;
          a = switch (bits) {
            case "256" -> Algorithm.RSA256(rsa, p);
            case "384" -> Algorithm.RSA384(rsa, p);
            default -> Algorithm.RSA512(rsa, p);
          };
        } else {
          if (!(pub instanceof ECPublicKey ec)) {
            throw new IllegalArgumentException("auth: invalid auth signature method");
          }
          ECPrivateKey p = (ECPrivateKey) priv;
          a = switch (bits) {
            case "256" -> Algorithm.ECDSA256(ec, p);
            case "384" -> Algorithm.ECDSA384(ec, p);
            default -> Algorithm.ECDSA512(ec, p);
          };
        }
        return new JwtTokens(a, priv == null, ttl);
      }
      default -> throw new IllegalArgumentException("auth: invalid auth signature method");
    }
  }

  private static Object readPem(Path file) throws IOException {
    try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
      Object o = p.readObject();
      if (o == null) {
        throw new IllegalArgumentException("auth: missing key data");
      }
      return o;
    }
  }

  private static PublicKey readPublic(Path file) throws IOException {
    Object o = readPem(file);
    JcaPEMKeyConverter c = new JcaPEMKeyConverter();
    if (o instanceof SubjectPublicKeyInfo info) {
      return c.getPublicKey(info);
    }
    if (o instanceof org.bouncycastle.cert.X509CertificateHolder cert) {
      return c.getPublicKey(cert.getSubjectPublicKeyInfo());
    }
    if (o instanceof PEMKeyPair pair) {
      return c.getKeyPair(pair).getPublic();
    }
    throw new IllegalArgumentException("auth: missing key data");
  }

  private static KeyPair readPrivate(Path file) throws IOException {
    Object o = readPem(file);
    JcaPEMKeyConverter c = new JcaPEMKeyConverter();
    if (o instanceof PEMKeyPair pair) {
      return c.getKeyPair(pair);
    }
    if (o instanceof PrivateKeyInfo info) {
      return new KeyPair(null, c.getPrivateKey(info));
    }
    throw new IllegalArgumentException("auth: missing key data");
  }

  @Override
  public String assign(String name, long revision, String simpleToken) {
    if (verifyOnly) {
      throw new IllegalStateException("auth: token signing attempted with verify-only key");
    }
    return JWT.create().withClaim("username", name).withClaim("revision", revision)
        .withClaim("exp", Instant.now().plus(ttl).getEpochSecond()).sign(algorithm);
  }

  @Override
  public AuthHeader info(String token, long currentRevision) {
    try {
      DecodedJWT jwt = JWT.require(algorithm).build().verify(token);
      String user = jwt.getClaim("username").asString();
      Long revision = jwt.getClaim("revision").asLong();
      if (user == null || revision == null) {
        return null;
      }
      return AuthHeader.newBuilder().setUsername(user).setAuthRevision(revision).build();
    } catch (JWTVerificationException | IllegalArgumentException bad) {
      return null;
    }
  }

  @Override
  public String newSimplePrefix() {
    return "";
  }

  @Override
  public void invalidateUser(String name) {
    // a JWT names the auth revision it was issued at: any change makes it old
  }

  @Override
  public void clear() {
    // nothing is kept for JWTs
  }

  @Override
  public void registered(String name, String token) {
    // nothing is registered for JWTs
  }
}
