package io.etcsql.sqlfrontend;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.calcite.schema.Schema;
import org.apache.calcite.schema.SchemaFactory;
import org.apache.calcite.schema.SchemaPlus;

/**
 * Makes the {@code etcd} schema for a Calcite connection. Operand {@code client}: the name of an
 * {@link EtcdClient} registered with {@link #register} (the node's in-process client, or the
 * standalone frontend's); or operand {@code endpoints}: etcd endpoints, comma-separated.
 */
public final class EtcdSchemaFactory implements SchemaFactory {
  private static final Map<String, EtcdClient> CLIENTS = new ConcurrentHashMap<>();

  /** Makes {@code client} available to connections whose operand {@code client} is {@code name}. */
  public static void register(String name, EtcdClient client) {
    CLIENTS.put(name, client);
  }

  public static void unregister(String name) {
    CLIENTS.remove(name);
  }

  @Override
  public Schema create(SchemaPlus parentSchema, String name, Map<String, Object> operand) {
    Object client = operand.get("client");
    if (client != null) {
      EtcdClient c = CLIENTS.get(client.toString());
      if (c == null) {
        throw new IllegalArgumentException("no etcd client registered as " + client);
      }
      return new EtcdSchema(c);
    }
    Object endpoints = operand.get("endpoints");
    if (endpoints == null) {
      throw new IllegalArgumentException("the etcd schema needs operand 'client' or 'endpoints'");
    }
    EtcdClient c = CLIENTS.computeIfAbsent("endpoints:" + endpoints,
        k -> EtcdClient.connect(Arrays.asList(endpoints.toString().split(","))));
    return new EtcdSchema(c);
  }
}
