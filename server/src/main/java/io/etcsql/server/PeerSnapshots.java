package io.etcsql.server;

import io.etcsql.consensus.SnapshotSource;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.SnapshotRequest;
import io.etcsql.grpcapi.etcdserverpb.SnapshotResponse;
import io.etcsql.kvstore.KvStore;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Fetches a member's snapshot through its Maintenance.Snapshot RPC, at the client URL the member
 * announced through Raft.
 */
final class PeerSnapshots implements SnapshotSource {
  private final KvStore store;
  private final SslContext tls;

  /** @param tls how to reach an https client URL (null: this member has no client TLS) */
  PeerSnapshots(KvStore store, SslContext tls) {
    this.store = store;
    this.tls = tls;
  }

  @Override
  public InputStream open(String peerId, String clientAddressHint) throws IOException {
    io.etcsql.grpcapi.etcdserverpb.Member member = store.member(ClusterIdentity.memberIdOf(peerId));
    List<String> urls = member == null ? List.of() : member.getClientURLsList();
    URI url;
    if (!urls.isEmpty()) {
      // a plain-text URL if the member has one, else its https URL with this member's credentials
      url = URI.create(urls.stream().filter(u -> u.startsWith("http:")).findFirst().orElse(urls.get(0)));
    } else if (clientAddressHint != null && !clientAddressHint.isEmpty()) {
      url = URI.create("http://" + clientAddressHint); // a joining member: from the Raft configuration
    } else {
      throw new IOException("member " + peerId + " has not published a client URL");
    }
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(url.getHost(), url.getPort())
        .maxInboundMessageSize(16 * 1024 * 1024);
    if (url.getScheme().equals("https")) {
      if (tls == null) {
        throw new IOException("member " + peerId + " serves only " + url + " and this member has no client TLS");
      }
      builder.sslContext(tls);
    } else {
      builder.usePlaintext();
    }
    ManagedChannel channel = builder.build();
    Iterator<SnapshotResponse> chunks = MaintenanceGrpc.newBlockingStub(channel).snapshot(SnapshotRequest.getDefaultInstance());
    return new InputStream() {
      private byte[] current = new byte[0];
      private int pos;

      private boolean fill() {
        while (pos == current.length) {
          if (!chunks.hasNext()) {
            return false;
          }
          current = chunks.next().getBlob().toByteArray();
          pos = 0;
        }
        return true;
      }

      @Override
      public int read() {
        return fill() ? current[pos++] & 0xff : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (len == 0) {
          return 0;
        }
        if (!fill()) {
          return -1;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
      }

      @Override
      public void close() {
        channel.shutdownNow();
        try {
          channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
  }
}
