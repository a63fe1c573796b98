package io.etcsql.sqlfrontend;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.servlet.ServletException;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.apache.calcite.avatica.remote.Service;
import org.apache.calcite.avatica.server.AvaticaProtobufHandler;
import org.eclipse.jetty.server.Request;

/**
 * SQL runs as the etcd user of the HTTP basic credentials the client sends (the JDBC driver's
 * user and password): the frontend logs in to etcd with them (etcd's Authenticate, so the
 * password is checked by etcd and never kept here in clear) and every etcd call made for that
 * request carries the user's token, so etcd's permissions decide what the query may read and
 * write. While etcd auth is off, no credentials are needed; once it is on, a request without
 * them is challenged (HTTP 401, as clients send basic credentials only when challenged), and so
 * is one with wrong credentials.
 */
public final class SqlCredentials {
  /** The etcd token of the SQL request being served. */
  static final Context.Key<String> TOKEN = Context.key("etcsql-sql-token");
  private static final Metadata.Key<String> TOKEN_HEADER = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  /** How long a login is reused before etcd is asked again (etcd's simple tokens live 300 s unused). */
  private static final long REUSE_NANOS = 60_000_000_000L;

  private SqlCredentials() {}

  /** Adds the current SQL request's token to each etcd call. */
  static ClientInterceptor attachToken() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        String token = TOKEN.get();
        ClientCall<Q, R> call = next.newCall(method, options);
        if (token == null) {
          return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(TOKEN_HEADER, token);
            super.start(listener, headers);
          }
        };
      }
    };
  }

  /** Avatica's protobuf handler, serving each request as the user of its basic credentials. */
  static final class Handler extends AvaticaProtobufHandler {
    private record Login(String token, long atNanos) {}

    private final EtcdClient etcd;
    private final Map<String, Login> logins = new ConcurrentHashMap<>();
    private static final long AUTH_RECHECK_NANOS = 2_000_000_000L;
    private volatile boolean authOn;
    private volatile long authCheckedAtNanos;

    Handler(Service service, EtcdClient etcd) {
      super(service);
      this.etcd = etcd;
    }

    @Override
    public void handle(String target, Request base, HttpServletRequest request, HttpServletResponse response)
        throws IOException, ServletException {
      String auth = request.getHeader("Authorization");
      if (auth == null || !auth.regionMatches(true, 0, "Basic ", 0, 6)) {
        if (authOn()) {
          // HTTP clients (Avatica's among them) send basic credentials only when challenged
          challenge(base, response, "etcd auth is on: give a user and password");
        } else {
          super.handle(target, base, request, response);
        }
        return;
      }
      String token;
      try {
        token = token(new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException | StatusRuntimeException refused) {
        String why = refused instanceof StatusRuntimeException s ? s.getStatus().getDescription() : "bad credentials";
        challenge(base, response, why);
        return;
      }
      try {
        Context.current().withValue(TOKEN, token).call(() -> {
          super.handle(target, base, request, response);
          return null;
        });
      } catch (IOException | ServletException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new ServletException(e);
      }
    }

    private static void challenge(Request base, HttpServletResponse response, String why) throws IOException {
      base.setHandled(true);
      response.setHeader("WWW-Authenticate", "Basic realm=\"etcsql\"");
      response.sendError(HttpServletResponse.SC_UNAUTHORIZED, why);
    }

    /**
     * Whether etcd auth is on, asked at most every few seconds with a login nobody can pass
     * (etcd 3.4 has no AuthStatus): "authentication is not enabled" means off.
     */
    private boolean authOn() {
      long now = System.nanoTime();
      if (now - authCheckedAtNanos < AUTH_RECHECK_NANOS && authCheckedAtNanos != 0) {
        return authOn;
      }
      boolean on;
      try {
        etcd.authenticate("", "");
        on = true;
      } catch (StatusRuntimeException e) {
        on = !(e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION
            && "etcdserver: authentication is not enabled".equals(e.getStatus().getDescription()));
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
          return authOn; // etcd unreachable: keep the last answer, the query will say what is wrong
        }
      }
      authOn = on;
      authCheckedAtNanos = now;
      return on;
    }

    /** The etcd token for "user:password" (null while etcd auth is off). */
    private String token(String userColonPassword) {
      int colon = userColonPassword.indexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("bad credentials");
      }
      String key = digest(userColonPassword);
      long now = System.nanoTime();
      Login cached = logins.get(key);
      if (cached != null && now - cached.atNanos() < REUSE_NANOS) {
        return cached.token();
      }
      String token;
      try {
        token = etcd.authenticate(userColonPassword.substring(0, colon), userColonPassword.substring(colon + 1));
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION
            && "etcdserver: authentication is not enabled".equals(e.getStatus().getDescription())) {
          return null; // no auth: the request runs without a token, as any etcd client would
        }
        logins.remove(key);
        throw e;
      }
      logins.put(key, new Login(token, now));
      return token;
    }

    private static String digest(String s) {
      try {
        return Base64.getEncoder().encodeToString(
            MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
