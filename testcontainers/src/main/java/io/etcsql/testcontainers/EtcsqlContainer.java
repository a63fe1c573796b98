package io.etcsql.testcontainers;

import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One etcsql member in a container, for tests: its etcd gRPC endpoint ({@link #clientEndpoint()},
 * for jetcd or etcdctl) and its SQL endpoint ({@link #jdbcUrl()}, for the JDBC driver).
 *
 * <pre>
 * try (EtcsqlContainer etcsql = new EtcsqlContainer("etcsql:0.1.0-SNAPSHOT")) {
 *     etcsql.start();
 *     Client client = Client.builder().endpoints(etcsql.clientEndpoint()).build();
 *     Connection c = DriverManager.getConnection(etcsql.jdbcUrl());
 * }
 * </pre>
 *
 * <p>The container shares the host's network and listens on 127.0.0.1 only, on three free ports
 * chosen when it is created (client, peer, SQL): nothing is reachable from outside the machine and
 * no port mapping is needed. The image comes from {@code docker/build.sh} in etcsql's source tree.
 * {@link #withFlags} adds etcd flags (for example {@code --max-txn-ops 16}); the member is ready
 * when its {@code /health} answers true and its SQL port accepts connections.
 */
public class EtcsqlContainer extends GenericContainer<EtcsqlContainer> {

    /** The image {@code docker/build.sh} tags last. */
    public static final DockerImageName DEFAULT_IMAGE = DockerImageName.parse("etcsql:latest");

    private final int clientPort;
    private final int peerPort;
    private final int sqlPort;
    private final List<String> extraFlags = new ArrayList<>();
    private String memberName = "etcsql";

    public EtcsqlContainer() {
        this(DEFAULT_IMAGE);
    }

    public EtcsqlContainer(String image) {
        this(DockerImageName.parse(image));
    }

    public EtcsqlContainer(DockerImageName image) {
        super(image);
        clientPort = freePort();
        peerPort = freePort();
        sqlPort = freePort();
        withNetworkMode("host");
        waitingFor(new Ready().withStartupTimeout(Duration.ofMinutes(2)));
    }

    /** etcd's --name of the member (default "etcsql"). */
    public EtcsqlContainer withMemberName(String name) {
        this.memberName = Objects.requireNonNull(name);
        return self();
    }

    /** More etcd flags, as given to etcd, e.g. {@code withFlags("--max-txn-ops", "16")}. */
    public EtcsqlContainer withFlags(String... flags) {
        extraFlags.addAll(List.of(flags));
        return self();
    }

    @Override
    protected void configure() {
        List<String> flags = new ArrayList<>(List.of(
                "--name", memberName,
                "--listen-client-urls", "http://127.0.0.1:" + clientPort,
                "--advertise-client-urls", "http://127.0.0.1:" + clientPort,
                "--listen-peer-urls", "http://127.0.0.1:" + peerPort,
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
                "--initial-cluster", memberName + "=http://127.0.0.1:" + peerPort,
                "--listen-sql-urls", "http://127.0.0.1:" + sqlPort));
        flags.addAll(extraFlags);
        setCommand(flags.toArray(new String[0]));
    }

    /** The member's etcd endpoint, {@code http://127.0.0.1:PORT} (gRPC and the HTTP/JSON gateway). */
    public String clientEndpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    /** {@code host:port} of the etcd endpoint, as etcdctl's --endpoints takes it. */
    public String clientAddress() {
        return "127.0.0.1:" + clientPort;
    }

    /** The JDBC URL of the member's SQL endpoint: {@code jdbc:etcsql://127.0.0.1:PORT}. */
    public String jdbcUrl() {
        return "jdbc:etcsql://127.0.0.1:" + sqlPort;
    }

    public int clientPort() {
        return clientPort;
    }

    public int sqlPort() {
        return sqlPort;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port on 127.0.0.1", e);
        }
    }

    /** Ready: {@code GET /health} on the client port says true, then the SQL port accepts. */
    private final class Ready extends AbstractWaitStrategy {
        @Override
        protected void waitUntilReady() {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            HttpRequest health = HttpRequest.newBuilder(URI.create(clientEndpoint() + "/health"))
                    .timeout(Duration.ofSeconds(5)).build();
            Instant deadline = Instant.now().plus(startupTimeout);
            String last = "no answer";
            while (Instant.now().isBefore(deadline)) {
                if (!isRunning()) {
                    throw new IllegalStateException("etcsql container stopped while starting:\n" + getLogs());
                }
                try {
                    HttpResponse<String> r = http.send(health, HttpResponse.BodyHandlers.ofString());
                    last = r.statusCode() + " " + r.body();
                    if (r.statusCode() == 200 && r.body().contains("\"health\":\"true\"") && sqlAccepts()) {
                        return;
                    }
                } catch (IOException e) {
                    last = e.toString();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            throw new IllegalStateException("etcsql not ready within " + startupTimeout + " (last /health: " + last
                    + "):\n" + getLogs());
        }

        private boolean sqlAccepts() {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), sqlPort), 1000);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }
}
