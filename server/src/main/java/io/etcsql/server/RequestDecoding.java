package io.etcsql.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageLite;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns each request's bytes into its message as etcd's gRPC server does, before any interceptor
 * or service sees it: a message larger than {@code --max-request-bytes} plus 512 KiB on the wire
 * is refused with RESOURCE_EXHAUSTED {@code grpc: received message larger than max (N vs. M)}, one
 * that does not parse with INTERNAL {@code grpc: error unmarshalling request: ...} (or, for a
 * streaming method, {@code grpc: failed to unmarshal the received message ...}), with what etcd's
 * decoder refuses and protobuf-java would read ({@link EtcdWireFormat}).
 *
 * <p>Either refusal closes the call through the call itself, so the service can write nothing
 * after it. (grpc-java's own answer to an unparsable message closes the stream behind the
 * service's back: a keep-alive answer the service sends afterwards then fails the whole HTTP/2
 * connection, and every other call on it.)
 */
final class RequestDecoding {
  /** etcd's grpcOverheadBytes. */
  static final int GRPC_OVERHEAD_BYTES = 512 * 1024;

  private final int limit;

  RequestDecoding(int maxRequestBytes) {
    this.limit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  }

  /** The same service, its requests decoded (and refused) here. */
  ServerServiceDefinition apply(ServerServiceDefinition service) {
    ServiceDescriptor d = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(d.getName())
        .setSchemaDescriptor(d.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<?, ?> decoded = decoded(m);
      descriptor.addMethod(decoded.getMethodDescriptor());
      methods.add(decoded);
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(out::addMethod);
    return out.build();
  }

  private <Q, R> ServerMethodDefinition<Q, R> decoded(ServerMethodDefinition<Q, R> m) {
    MethodDescriptor<Q, R> method = m.getMethodDescriptor();
    Decoder<Q> decoder = new Decoder<>(method.getRequestMarshaller(),
        method.getType() == MethodDescriptor.MethodType.UNARY);
    ServerCallHandler<Q, R> next = m.getServerCallHandler();
    return ServerMethodDefinition.create(method.toBuilder().setRequestMarshaller(decoder).build(),
        (call, headers) -> RefusingListener.start(call, headers, next, decoder::refusal));
  }

  /**
   * Parses a request, or hands the call a placeholder and remembers why: gRPC passes the parsed
   * message to the call's listener right away, on the same thread, where {@link #refusal} turns
   * the placeholder into the status to close the call with.
   */
  private final class Decoder<Q> implements MethodDescriptor.PrototypeMarshaller<Q> {
    private final MethodDescriptor.PrototypeMarshaller<Q> delegate;
    private final boolean unary;
    private final Q refused;
    private final ThreadLocal<Status> why = new ThreadLocal<>();

    @SuppressWarnings("unchecked")
    Decoder(MethodDescriptor.Marshaller<Q> delegate, boolean unary) {
      this.delegate = (MethodDescriptor.PrototypeMarshaller<Q>) delegate;
      this.unary = unary;
      // a message of the request's type that no parse ever returns
      this.refused = (Q) ((MessageLite) this.delegate.getMessagePrototype()).toBuilder().build();
    }

    @Override
    public Q parse(InputStream in) {
      try {
        int size = in instanceof KnownLength ? in.available() : -1;
        if (size > limit) {
          return refuse(Status.RESOURCE_EXHAUSTED.withDescription(String.format(
              "grpc: received message larger than max (%d vs. %d)", size, limit)));
        }
        // a known length (gRPC's whole-message streams) is read into one array of that size;
        // readAllBytes would grow and copy chunks of 8 KiB and more for every request
        byte[] bytes = size >= 0 ? in.readNBytes(size) : in.readAllBytes();
        if (bytes.length > limit) {
          return refuse(Status.RESOURCE_EXHAUSTED.withDescription(String.format(
              "grpc: received message larger than max (%d vs. %d)", bytes.length, limit)));
        }
        String etcdRefuses = EtcdWireFormat.refusal(bytes, ((Message) delegate.getMessagePrototype()).getDescriptorForType());
        if (etcdRefuses != null) {
          return refuse(unparsable(etcdRefuses));
        }
        @SuppressWarnings("unchecked")
        Q parsed = (Q) ((MessageLite) delegate.getMessagePrototype()).getParserForType().parseFrom(bytes);
        return parsed;
      } catch (InvalidProtocolBufferException e) {
        return refuse(unparsable(e.getMessage()));
      } catch (IOException e) {
        return refuse(Status.INTERNAL.withDescription("grpc: failed to read the received message " + e.getMessage()));
      }
    }

    private Status unparsable(String why) {
      return Status.INTERNAL.withDescription((unary
          ? "grpc: error unmarshalling request: " : "grpc: failed to unmarshal the received message ") + why);
    }

    private Q refuse(Status status) {
      why.set(status);
      return refused;
    }

    /** The status to refuse {@code message} with, or null if it was parsed. */
    Status refusal(Q message) {
      if (message != refused) {
        return null;
      }
      Status s = why.get();
      why.remove();
      return s != null ? s : Status.INTERNAL.withDescription("grpc: error unmarshalling request");
    }

    @Override
    public InputStream stream(Q value) {
      return delegate.stream(value);
    }

    @Override
    public Class<Q> getMessageClass() {
      return delegate.getMessageClass();
    }

    @Override
    public Q getMessagePrototype() {
      return delegate.getMessagePrototype();
    }
  }
}
