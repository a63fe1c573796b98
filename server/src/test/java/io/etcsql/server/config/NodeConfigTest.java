package io.etcsql.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcsql.server.config.NodeConfig.ClusterState;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeConfigTest {

    @Test
    void defaultsMatchEtcd() {
        NodeConfig d = NodeConfig.defaults();
        assertEquals(Flags.DEFAULT_NAME, d.name());
        assertEquals(Path.of("default.etcd"), d.dataDir());
        assertEquals(URI.create("http://localhost:2379"), d.clientListenUri());
        assertEquals(URI.create("http://localhost:2379"), d.clientAdvertiseUri());
        assertEquals(URI.create("http://localhost:2380"), d.peerListenUri());
        assertEquals(URI.create("http://localhost:2380"), d.peerAdvertiseUri());
        assertEquals(Flags.DEFAULT_INITIAL_CLUSTER, d.initialClusterString());
        assertEquals(10L, d.electionTicks());
        assertEquals(new InetSocketAddress("localhost", 2380), d.peerListenAddresses().get(0));
    }

    @Test
    void collectionsAreCopiedAndImmutable() {
        List<URI> urls = new ArrayList<>(List.of(URI.create("http://127.0.0.1:2379")));
        Map<String, List<URI>> cluster = new LinkedHashMap<>();
        cluster.put("z", List.of(URI.create("http://127.0.0.1:2380")));
        cluster.put("a", List.of(URI.create("http://127.0.0.1:2381")));
        NodeConfig c = new NodeConfig("z", Path.of("d"), urls, urls, urls, urls, cluster, ClusterState.NEW, "t",
                1, 2, 3, 4, 20);
        urls.clear();
        cluster.clear();
        assertEquals(1, c.listenClientUrls().size());
        assertEquals(List.of("z", "a"), c.initialMemberNames());
        assertThrows(UnsupportedOperationException.class, () -> c.initialCluster().put("b", List.of()));
        assertThrows(UnsupportedOperationException.class, () -> c.listenPeerUrls().add(URI.create("http://x:1")));
        assertEquals(List.of(), c.initialClusterPeerUrls("missing"));
    }

    @Test
    void noAdvertisedClientUrl() {
        NodeConfig d = NodeConfig.defaults();
        NodeConfig c = new NodeConfig(d.name(), d.dataDir(), d.listenClientUrls(), List.of(), d.listenPeerUrls(),
                d.initialAdvertisePeerUrls(), d.initialCluster(), d.initialClusterState(), d.initialClusterToken(),
                d.snapshotCount(), d.maxRequestBytes(), d.maxTxnOps(), d.heartbeatIntervalMs(),
                d.electionTimeoutMs());
        assertNull(c.clientAdvertiseUri());
    }

    @Test
    void clusterState() {
        assertEquals(ClusterState.NEW, ClusterState.fromFlagValue("new"));
        assertEquals(ClusterState.EXISTING, ClusterState.fromFlagValue("existing"));
        assertNull(ClusterState.fromFlagValue("New"));
        assertEquals("existing", ClusterState.EXISTING.toString());
    }

    @Test
    void envNames() {
        assertEquals("ETCD_DATA_DIR", Flags.envName(Flags.DATA_DIR));
        assertEquals("ETCD_INITIAL_ADVERTISE_PEER_URLS", Flags.envName(Flags.INITIAL_ADVERTISE_PEER_URLS));
        assertEquals("ETCD_NAME", Flags.supported("name").envVar());
    }

    @Test
    void ipLiterals() {
        assertEquals(true, EtcdUrls.isIpLiteral("127.0.0.1"));
        assertEquals(true, EtcdUrls.isIpLiteral("::1"));
        assertEquals(false, EtcdUrls.isIpLiteral("127.0.0.01"));
        assertEquals(false, EtcdUrls.isIpLiteral("256.0.0.1"));
        assertEquals(false, EtcdUrls.isIpLiteral("example.com"));
        assertEquals(false, EtcdUrls.isIpLiteral(""));
    }
}
