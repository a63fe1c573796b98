package io.etcsql.server.tls;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The identity of a client that authenticated with a certificate ({@code --client-cert-auth}): as
 * etcd's {@code AuthInfoFromTLS}, the Subject CN of the verified client certificate is the user
 * name. {@link #INTERCEPTOR} puts it into {@link #COMMON_NAME} for the call's handlers.
 */
public final class ClientCertificates {
  private ClientCertificates() {}

  /** The verified client certificate's Subject CN; absent when the call came without one. */
  public static final Context.Key<String> COMMON_NAME = Context.key("etcsql-client-cert-cn");

  /** Sets {@link #COMMON_NAME} from the call's TLS session (nothing on a plain-text call). */
  public static final ServerInterceptor INTERCEPTOR = new ServerInterceptor() {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      String cn = commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
      if (cn == null) {
        return next.startCall(call, headers);
      }
      return Contexts.interceptCall(Context.current().withValue(COMMON_NAME, cn), call, headers, next);
    }
  };

  /** The Subject CN of the session's peer certificate, or null (no session, no certificate, no CN). */
  static String commonName(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] peer = session.getPeerCertificates();
      return peer.length > 0 && peer[0] instanceof X509Certificate x ? commonName(x) : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  /** The certificate's Subject CN (the last one, as Go's pkix.Name keeps it), or "" when it has none. */
  public static String commonName(X509Certificate cert) {
    String cn = "";
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          cn = rdn.getValue().toString();
        }
      }
    } catch (InvalidNameException e) {
      return "";
    }
    return cn;
  }
}
