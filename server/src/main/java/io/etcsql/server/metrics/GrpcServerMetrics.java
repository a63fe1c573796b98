package io.etcsql.server.metrics;

import com.google.protobuf.MessageLite;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The server side gRPC metrics of go-grpc-prometheus, which etcd exports: {@code
 * grpc_server_started_total}, {@code grpc_server_handled_total}, {@code
 * grpc_server_msg_received_total}, {@code grpc_server_msg_sent_total} and, with {@code --metrics
 * extensive}, the {@code grpc_server_handling_seconds} histogram; plus etcd's own {@code
 * etcd_network_client_grpc_received_bytes_total} / {@code _sent_bytes_total} (the serialized
 * sizes of the messages). Install it on a server with {@code ServerBuilder.intercept}, so it runs
 * before every per-service interceptor and counts the calls those refuse too.
 */
public final class GrpcServerMetrics implements ServerInterceptor {
  /** Go's names of the status codes, as go-grpc-prometheus labels them. */
  private static final String[] CODE_NAMES = {"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
      "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
      "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
  /** Prometheus' default buckets, which go-grpc-prometheus uses. */
  private static final double[] HANDLING_BUCKETS = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

  private final Counter started;
  private final Counter handled;
  private final Counter received;
  private final Counter sent;
  private final Counter receivedBytes;
  private final Counter sentBytes;
  /** Null unless {@code --metrics extensive}. */
  private final Histogram handling;

  GrpcServerMetrics(PrometheusRegistry registry, boolean extensive) {
    // no exemplars: there is no tracer (and the client's exemplar sampler would need its tracer
    // initializer on the class path)
    // label names in etcd's (sorted) order
    started = Counter.builder().name("grpc_server_started_total")
        .help("Total number of RPCs started on the server.")
        .labelNames("grpc_method", "grpc_service", "grpc_type").withoutExemplars().register(registry);
    handled = Counter.builder().name("grpc_server_handled_total")
        .help("Total number of RPCs completed on the server, regardless of success or failure.")
        .labelNames("grpc_code", "grpc_method", "grpc_service", "grpc_type").withoutExemplars().register(registry);
    received = Counter.builder().name("grpc_server_msg_received_total")
        .help("Total number of RPC stream messages received on the server.")
        .labelNames("grpc_method", "grpc_service", "grpc_type").withoutExemplars().register(registry);
    sent = Counter.builder().name("grpc_server_msg_sent_total")
        .help("Total number of gRPC stream messages sent by the server.")
        .labelNames("grpc_method", "grpc_service", "grpc_type").withoutExemplars().register(registry);
    receivedBytes = Counter.builder().name("etcd_network_client_grpc_received_bytes_total")
        .help("The total number of bytes received from grpc clients.").withoutExemplars().register(registry);
    sentBytes = Counter.builder().name("etcd_network_client_grpc_sent_bytes_total")
        .help("The total number of bytes sent to grpc clients.").withoutExemplars().register(registry);
    handling = !extensive ? null : Histogram.builder().name("grpc_server_handling_seconds")
        .help("Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.")
        .labelNames("grpc_method", "grpc_service", "grpc_type")
        .classicOnly().classicUpperBounds(HANDLING_BUCKETS).withoutExemplars().register(registry);
  }

  /**
   * Shows every method of the service with zero counts before its first call, as
   * go-grpc-prometheus' {@code InitializeMetrics} does for etcd.
   */
  public void initialize(ServerServiceDefinition service) {
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      MethodDescriptor<?, ?> d = m.getMethodDescriptor();
      String method = d.getBareMethodName();
      String svc = d.getServiceName();
      String type = typeOf(d.getType());
      started.labelValues(method, svc, type);
      received.labelValues(method, svc, type);
      sent.labelValues(method, svc, type);
      for (String code : CODE_NAMES) {
        handled.labelValues(code, method, svc, type);
      }
      if (handling != null) {
        handling.labelValues(method, svc, type);
      }
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    MethodDescriptor<Q, R> d = call.getMethodDescriptor();
    String method = d.getBareMethodName();
    String svc = d.getServiceName();
    String type = typeOf(d.getType());
    long start = handling == null ? 0 : System.nanoTime();
    started.labelValues(method, svc, type).inc();
    // a call ends once: closed by the service, or cancelled by the client going away (which Go's
    // handler sees as a context error and go-grpc-prometheus counts as Canceled)
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.function.Consumer<Status.Code> handledAs = code -> {
      if (ended.compareAndSet(false, true)) {
        handled.labelValues(codeName(code), method, svc, type).inc();
        if (handling != null) {
          handling.labelValues(method, svc, type).observe((System.nanoTime() - start) / 1e9);
        }
      }
    };
    ServerCall<Q, R> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(R message) {
        sent.labelValues(method, svc, type).inc();
        sentBytes.inc(sizeOf(message));
        super.sendMessage(message);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        handledAs.accept(status.getCode());
        super.close(status, trailers);
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counted, headers)) {
      @Override
      public void onMessage(Q message) {
        received.labelValues(method, svc, type).inc();
        receivedBytes.inc(sizeOf(message));
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        handledAs.accept(Status.Code.CANCELLED);
        super.onCancel();
      }
    };
  }

  /** go-grpc-prometheus' grpc_type label. */
  static String typeOf(MethodDescriptor.MethodType t) {
    return switch (t) {
      case UNARY -> "unary";
      case CLIENT_STREAMING -> "client_stream";
      case SERVER_STREAMING -> "server_stream";
      case BIDI_STREAMING -> "bidi_stream";
      default -> "unknown";
    };
  }

  /** Go's name of a status code ({@code CANCELLED} is {@code Canceled}). */
  static String codeName(Status.Code code) {
    return CODE_NAMES[code.value()];
  }

  private static long sizeOf(Object message) {
    return message instanceof MessageLite m ? m.getSerializedSize() : 0;
  }
}
