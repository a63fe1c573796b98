package io.etcsql.server.gateway;

import com.google.protobuf.Message;
import io.etcsql.grpcapi.etcdserverpb.AuthGrpc;
import io.etcsql.grpcapi.etcdserverpb.ClusterGrpc;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.WatchGrpc;
import io.etcsql.grpcapi.v3electionpb.ElectionGrpc;
import io.etcsql.grpcapi.v3lockpb.LockGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * etcd 3.4's gateway paths (its {@code google.api.http} options: every one a POST with the whole
 * request as the body) and the gRPC method each one calls, resolved from the services' descriptors.
 */
final class GatewayRoutes {
  private static final List<ServiceDescriptor> SERVICES = List.of(KVGrpc.getServiceDescriptor(),
      WatchGrpc.getServiceDescriptor(), LeaseGrpc.getServiceDescriptor(), ClusterGrpc.getServiceDescriptor(),
      MaintenanceGrpc.getServiceDescriptor(), AuthGrpc.getServiceDescriptor(), LockGrpc.getServiceDescriptor(),
      ElectionGrpc.getServiceDescriptor());

  /** Path to full method name, as in etcd 3.4's rpc.proto, v3lock.proto and v3election.proto. */
  private static final String[][] PATHS = {
      {"/v3/kv/range", "etcdserverpb.KV/Range"},
      {"/v3/kv/put", "etcdserverpb.KV/Put"},
      {"/v3/kv/deleterange", "etcdserverpb.KV/DeleteRange"},
      {"/v3/kv/txn", "etcdserverpb.KV/Txn"},
      {"/v3/kv/compaction", "etcdserverpb.KV/Compact"},
      {"/v3/watch", "etcdserverpb.Watch/Watch"},
      {"/v3/lease/grant", "etcdserverpb.Lease/LeaseGrant"},
      {"/v3/lease/revoke", "etcdserverpb.Lease/LeaseRevoke"},
      {"/v3/kv/lease/revoke", "etcdserverpb.Lease/LeaseRevoke"},
      {"/v3/lease/keepalive", "etcdserverpb.Lease/LeaseKeepAlive"},
      {"/v3/lease/timetolive", "etcdserverpb.Lease/LeaseTimeToLive"},
      {"/v3/kv/lease/timetolive", "etcdserverpb.Lease/LeaseTimeToLive"},
      {"/v3/lease/leases", "etcdserverpb.Lease/LeaseLeases"},
      {"/v3/kv/lease/leases", "etcdserverpb.Lease/LeaseLeases"},
      {"/v3/cluster/member/add", "etcdserverpb.Cluster/MemberAdd"},
      {"/v3/cluster/member/remove", "etcdserverpb.Cluster/MemberRemove"},
      {"/v3/cluster/member/update", "etcdserverpb.Cluster/MemberUpdate"},
      {"/v3/cluster/member/list", "etcdserverpb.Cluster/MemberList"},
      {"/v3/cluster/member/promote", "etcdserverpb.Cluster/MemberPromote"},
      {"/v3/maintenance/alarm", "etcdserverpb.Maintenance/Alarm"},
      {"/v3/maintenance/status", "etcdserverpb.Maintenance/Status"},
      {"/v3/maintenance/defragment", "etcdserverpb.Maintenance/Defragment"},
      // HashKV has the same path in etcd's proto; grpc-gateway serves the first one registered, Hash
      {"/v3/maintenance/hash", "etcdserverpb.Maintenance/Hash"},
      {"/v3/maintenance/snapshot", "etcdserverpb.Maintenance/Snapshot"},
      {"/v3/maintenance/transfer-leadership", "etcdserverpb.Maintenance/MoveLeader"},
      {"/v3/auth/enable", "etcdserverpb.Auth/AuthEnable"},
      {"/v3/auth/disable", "etcdserverpb.Auth/AuthDisable"},
      {"/v3/auth/authenticate", "etcdserverpb.Auth/Authenticate"},
      {"/v3/auth/user/add", "etcdserverpb.Auth/UserAdd"},
      {"/v3/auth/user/get", "etcdserverpb.Auth/UserGet"},
      {"/v3/auth/user/list", "etcdserverpb.Auth/UserList"},
      {"/v3/auth/user/delete", "etcdserverpb.Auth/UserDelete"},
      {"/v3/auth/user/changepw", "etcdserverpb.Auth/UserChangePassword"},
      {"/v3/auth/user/grant", "etcdserverpb.Auth/UserGrantRole"},
      {"/v3/auth/user/revoke", "etcdserverpb.Auth/UserRevokeRole"},
      {"/v3/auth/role/add", "etcdserverpb.Auth/RoleAdd"},
      {"/v3/auth/role/get", "etcdserverpb.Auth/RoleGet"},
      {"/v3/auth/role/list", "etcdserverpb.Auth/RoleList"},
      {"/v3/auth/role/delete", "etcdserverpb.Auth/RoleDelete"},
      {"/v3/auth/role/grant", "etcdserverpb.Auth/RoleGrantPermission"},
      {"/v3/auth/role/revoke", "etcdserverpb.Auth/RoleRevokePermission"},
      {"/v3/lock/lock", "v3lockpb.Lock/Lock"},
      {"/v3/lock/unlock", "v3lockpb.Lock/Unlock"},
      {"/v3/election/campaign", "v3electionpb.Election/Campaign"},
      {"/v3/election/proclaim", "v3electionpb.Election/Proclaim"},
      {"/v3/election/leader", "v3electionpb.Election/Leader"},
      {"/v3/election/observe", "v3electionpb.Election/Observe"},
      {"/v3/election/resign", "v3electionpb.Election/Resign"},
  };

  private static final Map<String, MethodDescriptor<Message, Message>> ROUTES = routes();

  private GatewayRoutes() {}

  /** The method served at {@code path} (after the /v3beta/ rewrite), or null. */
  static MethodDescriptor<Message, Message> method(String path) {
    return ROUTES.get(path);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, MethodDescriptor<Message, Message>> routes() {
    Map<String, MethodDescriptor<?, ?>> byName = new HashMap<>();
    SERVICES.forEach(s -> s.getMethods().forEach(m -> byName.put(m.getFullMethodName(), m)));
    Map<String, MethodDescriptor<Message, Message>> out = new HashMap<>();
    for (String[] p : PATHS) {
      MethodDescriptor<?, ?> m = byName.get(p[1]);
      if (m == null) {
        throw new IllegalStateException("no gRPC method " + p[1] + " for " + p[0]);
      }
      out.put(p[0], (MethodDescriptor<Message, Message>) m);
    }
    return Map.copyOf(out);
  }

  /** An empty request of the method's type, to merge the JSON body into. */
  static Message.Builder newRequest(MethodDescriptor<Message, Message> m) {
    return ((MethodDescriptor.PrototypeMarshaller<Message>) m.getRequestMarshaller()).getMessagePrototype().newBuilderForType();
  }
}
