package io.etcsql.bench.load;

import io.grpc.Channel;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The gRPC connections of a run, as etcd's benchmark makes them: connection i goes to endpoint
 * {@code i % endpoints}, client c uses connection {@code c % conns}. One {@link ManagedChannel} is
 * one HTTP/2 connection; callbacks run on its Netty event loop (direct executor), so a client's
 * next request is sent from the thread that received the previous answer, with no hand-off.
 */
final class Connections implements AutoCloseable {
  private final List<ManagedChannel> channels = new ArrayList<>();

  Connections(List<String> endpoints, int conns, long dialTimeoutNanos) {
    for (int i = 0; i < conns; i++) {
      String ep = endpoints.get(i % endpoints.size());
      String hostPort = ep.replaceFirst("^http://", "");
      if (hostPort.contains("://")) {
        throw new IllegalArgumentException("only plain-text endpoints (host:port or http://host:port): " + ep);
      }
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("endpoint without a port: " + ep);
      }
      channels.add(NettyChannelBuilder.forAddress(hostPort.substring(0, colon),
              Integer.parseInt(hostPort.substring(colon + 1)))
          .usePlaintext()
          .directExecutor()
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .build());
    }
    awaitReady(dialTimeoutNanos);
  }

  int size() {
    return channels.size();
  }

  /** One stub per connection, in connection order (client c uses {@code stubs.get(c % size)}). */
  <S> List<S> stubs(Function<Channel, S> newStub) {
    return channels.stream().map(newStub).toList();
  }

  /** The connection of client (or stream) {@code i}. */
  ManagedChannel channel(int i) {
    return channels.get(i % channels.size());
  }

  private void awaitReady(long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    for (ManagedChannel ch : channels) {
      while (true) {
        ConnectivityState s = ch.getState(true);
        if (s == ConnectivityState.READY) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not connect to " + ch.authority() + " (" + s + ")");
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while connecting", e);
        }
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    for (ManagedChannel ch : channels) {
      ch.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
