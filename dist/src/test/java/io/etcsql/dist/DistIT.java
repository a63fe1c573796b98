package io.etcsql.dist;

import io.etcsql.server.it.Etcdctl;
import io.etcsql.server.it.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The release archive as a user gets it: unpacked outside the source tree, its bin/etcsql starts a
 * member from the archive's own jars, etcdctl writes, the archive's JDBC jar (alone on a class
 * loader) reads the write back in SQL, and SIGTERM stops the member.
 */
class DistIT {

    @Test
    void unpackedArchiveServesEtcdAndSql() throws Exception {
        Path archive = Paths.get(System.getProperty("etcsql.dist.archive"));
        assertTrue(Files.isRegularFile(archive), archive + " not built");
        Path root = Paths.get(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(root);
        Path dir = Files.createTempDirectory(root, "dist-");
        Process tar = new ProcessBuilder("tar", "xzf", archive.toString(), "-C", dir.toString()).inheritIO().start();
        assertEquals(0, tar.waitFor());
        Path home = dir.resolve(System.getProperty("etcsql.dist.name"));
        assertTrue(Files.isExecutable(home.resolve("bin/etcsql")));

        int client = ServerProcess.freePort();
        int peer = ServerProcess.freePort();
        int sql = ServerProcess.freePort();
        Process member = new ProcessBuilder(home.resolve("bin/etcsql").toString(),
                "--name", "dist", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", "http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
                "--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-cluster", "dist=http://127.0.0.1:" + peer,
                "--listen-sql-urls", "http://127.0.0.1:" + sql)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("member.log").toFile())
                .start();
        try {
            Etcdctl ctl = new Etcdctl("127.0.0.1:" + client);
            Instant deadline = Instant.now().plus(ServerProcess.defaultStartTimeout());
            while (!ctl.run("endpoint", "health").ok()) {
                assertTrue(member.isAlive(), () -> "member exited: " + log(dir));
                assertTrue(Instant.now().isBefore(deadline), () -> "member not healthy: " + log(dir));
                Thread.sleep(300);
            }
            assertEquals("OK", ctl.ok("put", "/dist/check", "from-the-archive").trim());

            // the archive's driver jar on its own: nothing of the test's class path is needed
            try (URLClassLoader jdbc = new URLClassLoader(new URL[] {home.resolve("jdbc/etcsql-jdbc.jar").toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
                Driver driver = (Driver) Class.forName("io.etcsql.jdbc.EtcsqlDriver", true, jdbc).getDeclaredConstructor().newInstance();
                String value = null;
                Instant sqlDeadline = Instant.now().plus(Duration.ofSeconds(60));
                while (value == null) {
                    try (Connection c = driver.connect("jdbc:etcsql://127.0.0.1:" + sql, new Properties());
                         Statement st = c.createStatement();
                         ResultSet rs = st.executeQuery("SELECT value FROM kv WHERE key = '/dist/check'")) {
                        assertTrue(rs.next());
                        value = rs.getString(1);
                    } catch (java.sql.SQLException e) {
                        // the SQL endpoint starts after gRPC answers
                        if (Instant.now().isAfter(sqlDeadline)) {
                            throw e;
                        }
                        Thread.sleep(300);
                    }
                }
                assertEquals("from-the-archive", value);
            }

            // the launcher exec'd the JVM: SIGTERM to the process we started stops the member
            member.destroy();
            assertTrue(member.waitFor(30, TimeUnit.SECONDS), "member did not stop on SIGTERM");
        } finally {
            member.destroyForcibly();
        }
    }

    private static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("member.log"));
        } catch (Exception e) {
            return e.toString();
        }
    }
}
