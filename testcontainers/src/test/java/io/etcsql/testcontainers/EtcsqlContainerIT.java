package io.etcsql.testcontainers;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * EtcsqlContainer as a user's test uses it: the image docker/build.sh built from this tree, a
 * write through jetcd read back in SQL, a write in SQL read back through jetcd, flags passed on,
 * and the member gone when the container stops.
 */
class EtcsqlContainerIT {

    static final String IMAGE = System.getProperty("etcsql.image", "etcsql:latest");

    @Test
    void grpcAndJdbcEndpointsOfOneContainer() throws Exception {
        try (EtcsqlContainer etcsql = new EtcsqlContainer(IMAGE).withFlags("--max-txn-ops", "16")) {
            etcsql.start();
            assertTrue(etcsql.clientEndpoint().startsWith("http://127.0.0.1:"));
            try (Client client = Client.builder()
                    .endpoints(etcsql.clientEndpoint())
                    .retryMaxAttempts(0)
                    .waitForReady(false)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build()) {
                client.getKVClient().put(bytes("/tc/from-jetcd"), bytes("v1")).get(10, TimeUnit.SECONDS);

                try (Connection c = DriverManager.getConnection(etcsql.jdbcUrl())) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT value, version FROM kv WHERE key = ?")) {
                        ps.setString(1, "/tc/from-jetcd");
                        try (ResultSet rs = ps.executeQuery()) {
                            assertTrue(rs.next());
                            assertEquals("v1", rs.getString(1));
                            assertEquals(1, rs.getLong(2));
                            assertFalse(rs.next());
                        }
                    }
                    try (Statement st = c.createStatement()) {
                        assertEquals(1, st.executeUpdate("INSERT INTO kv (key, value) VALUES ('/tc/from-sql', 'v2')"));
                    }
                    // the flag reached the member: a statement writing more than 16 keys is refused (etcd's limit)
                    try (Statement st = c.createStatement()) {
                        StringBuilder values = new StringBuilder();
                        for (int i = 0; i < 17; i++) {
                            values.append(i == 0 ? "" : ", ").append("('/tc/many/").append(i).append("', 'x')");
                        }
                        java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                                () -> st.executeUpdate("INSERT INTO kv (key, value) VALUES " + values));
                        assertEquals("54000", e.getSQLState(), e.toString());
                    }
                }
                List<KeyValue> kvs = client.getKVClient().get(bytes("/tc/from-sql")).get(10, TimeUnit.SECONDS).getKvs();
                assertEquals(1, kvs.size());
                assertEquals("v2", kvs.get(0).getValue().toString(StandardCharsets.UTF_8));
            }
            String id = etcsql.getContainerId();
            etcsql.stop();
            assertFalse(etcsql.isRunning(), "container " + id + " still running");
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
