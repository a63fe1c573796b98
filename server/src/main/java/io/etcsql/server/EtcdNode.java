package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.consensus.RaftNodeConfig;
import io.etcsql.grpcapi.etcsqlpb.MemberAttributes;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.KvStore;
import io.etcsql.server.auth.AuthInterceptor;
import io.etcsql.server.auth.JwtTokens;
import io.etcsql.server.auth.Passwords;
import io.etcsql.server.auth.SimpleTokens;
import io.etcsql.server.auth.Tokens;
import io.etcsql.server.config.AuthOptions;
import io.etcsql.server.config.Flags;
import io.etcsql.server.config.NodeConfig;
import io.etcsql.server.gateway.Gateway;
import io.etcsql.server.metrics.MetricsHttpServer;
import io.etcsql.server.metrics.ServerMetrics;
import io.etcsql.server.tls.ClientCertificates;
import io.etcsql.server.tls.ServerTls;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.etcsql.sqlfrontend.EtcdClient;
import io.etcsql.sqlfrontend.SqlServer;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcsql member: the composition root that opens the store, joins the Raft group and serves
 * etcd's gRPC API on every client URL. Data lives in {@code <data-dir>/member/kv} (the store) and
 * {@code <data-dir>/member/raft} (the Raft log).
 */
public final class EtcdNode implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdNode.class);
  /** How often the leader replicates remaining lease TTLs. */
  private static final long LEASE_CHECKPOINT_INTERVAL_MS = 5_000;

  private final NodeConfig config;
  private final KvStore store;
  private final RaftNode raft;
  private final List<Server> servers = new ArrayList<>();
  /** Name of the in-process gRPC server the SQL frontend uses. */
  private final String inProcessName;
  private final List<SqlServer> sqlServers = new ArrayList<>();
  private final Gateway gateway;
  private io.grpc.ManagedChannel sqlChannel;
  private EtcdClient sqlClient;
  private final Proposer proposer;
  private final AutoCompactor compactor;
  private final ClusterIdentity identity;
  private volatile RemovalWatch removalWatch;
  private final ServerMetrics metrics;
  /** The client URLs' TLS (also the SQL endpoint's), or null. */
  private final ServerTls clientTls;
  private MetricsHttpServer metricsHttp;
  private final java.util.concurrent.ExecutorService reads;
  private final java.util.concurrent.ExecutorService hashing;
  /** Runs the client gRPC calls' handlers (see {@link #callPool}). */
  private final java.util.concurrent.ForkJoinPool calls = callPool();
  private volatile boolean closed;

  private EtcdNode(NodeConfig config) throws IOException {
    this.config = config;
    Path member = config.dataDir().resolve("member");
    Files.createDirectories(member);
    this.store = KvStore.open(member.resolve("kv"), KvStore.Options.defaults());
    this.identity = new ClusterIdentity(config, store);
    this.metrics = new ServerMetrics(config.extensiveMetrics(), Flags.EMULATED_ETCD_VERSION,
        Flags.EMULATED_CLUSTER_VERSION);
    io.etcsql.consensus.LogSyncTimes.listen(metrics::observeWalFsync); // before Ratis creates its log
    store.leaseCounts().onGrant(metrics::observeLeaseGrant); // before Raft replays its log
    store.onBackendCommit(metrics::observeBackendCommit);
    Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
    for (Map.Entry<String, URI> e : identity.bootstrapPeers(config).entrySet()) {
      peers.put(e.getKey(), NodeConfig.socketAddress(e.getValue()));
    }
    this.clientTls = ServerTls.of(config.clientTls(), config.dataDir().resolve("fixtures").resolve("client"),
        config.listenClientUrls(), false);
    long requestTimeout = 5_000 + 2 * config.electionTimeoutMs();
    this.raft = RaftNode.start(new RaftNodeConfig(ClusterIdentity.peerId(identity.selfId()), peers,
        config.peerListenAddresses().get(0),
        config.initialClusterToken(), member.resolve("raft"), config.heartbeatIntervalMs(),
        config.electionTimeoutMs(), config.snapshotCount(), config.maxRequestBytes(), requestTimeout,
        LEASE_CHECKPOINT_INTERVAL_MS, !config.isNewCluster(), raftTls(config)), store,
        new PeerSnapshots(store, clientTls == null ? null : clientTls.memberClientContext()));
    ResponseHeaders headers = new ResponseHeaders(identity, raft);
    Proposer proposer = new Proposer(raft, config.maxRequestBytes());
    // etcd: minimum lease TTL = ceil(1.5 * election timeout)
    long minTtl = (long) Math.ceil(1.5 * config.electionTimeoutMs() / 1000.0);
    RequestDecoding decoding = new RequestDecoding(config.maxRequestBytes());
    LearnerGuard learnerGuard = new LearnerGuard(() -> {
      io.etcsql.grpcapi.etcdserverpb.Member self = store.member(identity.selfId());
      return self != null && self.getIsLearner();
    });
    QuotaGuard quota = new QuotaGuard(raft, proposer, identity::selfId, config.quotaBackendBytes());
    metrics.bind(new NodeStatus(raft, store, proposer, config.quotaBackendBytes()));
    this.compactor = AutoCompactor.start(config.autoCompaction(), raft, proposer);
    java.util.concurrent.atomic.AtomicInteger readerNo = new java.util.concurrent.atomic.AtomicInteger();
    this.reads = java.util.concurrent.Executors.newFixedThreadPool(
        Math.max(4, 2 * Runtime.getRuntime().availableProcessors()), r -> {
          Thread t = new Thread(r, "range-reader-" + readerNo.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    ConcurrencyClient concurrency = new ConcurrencyClient(raft, proposer, headers, quota, config.maxTxnOps(), reads);
    Tokens tokens = tokens(config, store);
    store.auth().onAuthenticated(tokens::registered);
    store.auth().onUserInvalidated(tokens::invalidateUser);
    store.auth().onChange(() -> {
      if (!store.auth().enabled()) {
        tokens.clear();
      }
    });
    this.hashing = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "auth-bcrypt");
      t.setDaemon(true);
      return t;
    });
    // every call: who it acts for (token or client certificate), then the learner guard
    AuthInterceptor auth = new AuthInterceptor(store.auth(), tokens);
    java.util.function.Function<io.grpc.BindableService, io.grpc.ServerServiceDefinition> guarded =
        service -> decoding.apply(ServerInterceptors.intercept(service, learnerGuard, auth));
    java.util.function.Consumer<io.grpc.ServerBuilder<?>> addServices = b -> b
        .addService(guarded.apply(new KvService(raft, proposer, headers, config.maxTxnOps(), reads, quota)))
        .addService(guarded.apply(new WatchService(store.watchHub(), headers::current, config.maxRequestBytes(),
            store.auth())))
        .addService(guarded.apply(new LeaseService(raft, proposer, headers, minTtl, quota)))
        .addService(guarded.apply(new MaintenanceService(raft, headers, identity, member, proposer,
            config.electionTimeoutMs(), metrics::observeBackendSnapshot)))
        .addService(guarded.apply(new HistoryService(raft, headers, reads)))
        .addService(guarded.apply(new LockService(concurrency)))
        .addService(guarded.apply(new ElectionService(concurrency)))
        .addService(guarded.apply(new AuthService(raft, proposer, headers, new Passwords(config.auth().bcryptCost()),
            tokens, hashing)))
        .addService(guarded.apply(new ClusterService(raft, proposer, headers, identity, config.initialClusterToken(),
            config.electionTimeoutMs())));
    io.etcsql.server.config.GrpcOptions grpc = config.grpc();
    this.inProcessName = "etcsql-" + config.name() + "-" + java.util.UUID.randomUUID();
    // etcd's JSON gateway and /health, /version, /metrics share each client port with gRPC
    // (a JSON body is at most ~4/3 larger than its message, whose limit the services enforce)
    this.gateway = new Gateway(inProcessName, metrics, config.http(),
        (int) Math.min(Integer.MAX_VALUE, 4L * config.maxRequestBytes() + (1 << 20)));
    for (URI url : config.listenClientUrls()) {
      boolean https = url.getScheme().equals("https");
      // each URL TLS or not by its scheme; the gateway splits gRPC from HTTP/1 (by ALPN under TLS)
      NettyServerBuilder b = gateway.serverBuilder(NodeConfig.socketAddress(url), https ? clientTls.sslContext() : null)
          // as etcd's listeners: a restart right after a crash may rebind despite TIME_WAIT sockets
          .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_REUSEADDR, true)
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .maxConcurrentCallsPerConnection(grpc.streamLimit())
          // clients may ping without a call open (etcdctl and jetcd keep idle connections alive)
          .permitKeepAliveWithoutCalls(true)
          .intercept(metrics.grpc());
      b.executor(calls);
      if (grpc.keepaliveMinTime().compareTo(java.time.Duration.ZERO) > 0) {
        b.permitKeepAliveTime(grpc.keepaliveMinTime().toNanos(), TimeUnit.NANOSECONDS);
      }
      if (grpc.serverPings()) {
        b.keepAliveTime(grpc.keepaliveInterval().toNanos(), TimeUnit.NANOSECONDS)
            .keepAliveTimeout(grpc.keepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS);
      } else {
        b.keepAliveTime(Long.MAX_VALUE, TimeUnit.NANOSECONDS); // no server pings
      }
      if (https) {
        if (clientTls.clientCertAuth()) {
          b.intercept(ClientCertificates.INTERCEPTOR);
        }
      } else if (clientTls != null) {
        LOG.warn("scheme is HTTP while key and cert files are present; ignoring key and cert files (client-url {})", url);
      }
      addServices.accept(b);
      servers.add(b.build());
    }
    if (!servers.isEmpty()) {
      servers.get(0).getServices().forEach(metrics.grpc()::initialize);
    }
    // the same services in process, for the SQL frontend: it is an etcd API client like any other,
    // but talks to its own member without going over the network
    io.grpc.inprocess.InProcessServerBuilder local = io.grpc.inprocess.InProcessServerBuilder.forName(inProcessName);
    addServices.accept(local);
    servers.add(local.build());
    this.proposer = proposer;
  }

  /** The Raft endpoint's TLS when the peer URL is https (etcd's peer TLS), else null. */
  private static io.etcsql.consensus.PeerTls raftTls(NodeConfig config) throws IOException {
    if (!config.peerListenUri().getScheme().equals("https")) {
      return null;
    }
    ServerTls tls = ServerTls.of(config.peerTls(), config.dataDir().resolve("fixtures").resolve("peer"),
        config.listenPeerUrls(), true);
    List<String> suites = tls.cipherSuites();
    return new io.etcsql.consensus.PeerTls(tls.keyManager(), tls.memberTrustManager(),
        tls.requiresClientCertificate(), suites == null ? List.of() : suites);
  }

  /**
   * The token provider of {@code --auth-token}: simple tokens (which a member may be asked about
   * before it has applied the login that made them: it waits for it a little), or JWTs signed
   * with the configured keys. Bad keys stop the start with etcd's error text.
   */
  private static Tokens tokens(NodeConfig config, KvStore store) throws IOException {
    AuthOptions a = config.auth();
    if (!a.jwt()) {
      return new SimpleTokens(a.simpleTokenTtl(), index -> {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (store.appliedIndex() < index) {
          if (System.nanoTime() > deadline) {
            return false;
          }
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
        return true;
      });
    }
    try {
      return JwtTokens.load(a.jwtSignMethod(), a.jwtPublicKey(), a.jwtPrivateKey(), a.jwtTtl());
    } catch (IllegalArgumentException | io.etcsql.server.config.ConfigException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Opens the member's store and joins its Raft group; clients are served only after {@link
   * #serve()}.
   */
  public static EtcdNode open(NodeConfig config) throws IOException {
    return new EtcdNode(config);
  }

  /** Opens the member and serves clients as soon as it is published (see {@link #serve()}). */
  public static EtcdNode start(NodeConfig config) throws IOException {
    EtcdNode node = open(config);
    node.serve();
    return node;
  }

  /**
   * As etcd: first publishes this member's name and client URLs through Raft (which needs a
   * quorum, so it waits for one), then listens for clients.
   */
  public void serve() throws IOException {
    if (!config.listenMetricsUrls().isEmpty() && !closed) {
      // before the quorum wait, as etcd: /health answers false until there is a leader
      metricsHttp = MetricsHttpServer.start(metrics, config.metricsListenAddresses());
      LOG.info("serving /metrics, /health and /version on {}", config.listenMetricsUrls());
    }
    announce(proposer);
    for (Server s : servers) {
      if (closed) {
        return;
      }
      s.start();
      LOG.info("serving client requests on {}", s.getListenSockets());
    }
    serveSql();
    String self = ClusterIdentity.peerId(identity.selfId());
    removalWatch = new RemovalWatch(store, identity.selfId(),
        () -> raft.configuration(false).containsKey(self) || raft.configuration(true).containsKey(self), () -> {
      try {
        close();
      } catch (IOException e) {
        LOG.warn("error while stopping", e);
      }
      System.exit(0);
    });
  }

  /**
   * Publishes this member's name and client URLs through Raft (etcd's member attributes), on
   * every start as etcd does, and returns once this member has applied it. Waits for a quorum;
   * returns early only when the member is closed.
   */
  private void announce(Proposer proposer) {
    List<String> urls = new ArrayList<>();
    config.advertiseClientUrls().forEach(u -> urls.add(u.toString()));
    ReplicatedCommand publish = ReplicatedCommand.newBuilder().setMemberAttributes(MemberAttributes.newBuilder()
        .setMemberId(identity.selfId()).setName(config.name()).addAllClientUrls(urls)).build();
    boolean published = false;
    boolean bootstrapped = !config.isNewCluster();
    while (!closed) {
      try {
        if (!bootstrapped && store.members().isEmpty()) {
          // the first start of a new cluster: record the bootstrap members (idempotent)
          proposer.raw(ReplicatedCommand.newBuilder().setMemberBootstrap(identity.bootstrap()).build()).get();
        }
        bootstrapped = true;
        if (!published) {
          proposer.raw(publish).get();
          published = true;
        }
        // wait until this member has applied it too, so its own member list shows it (a learner
        // serves no ReadIndex, so watch the local registry instead)
        io.etcsql.grpcapi.etcdserverpb.Member self = store.member(identity.selfId());
        if (self == null || !self.getClientURLsList().equals(urls) || !self.getName().equals(config.name())) {
          Thread.sleep(100);
          continue;
        }
        LOG.info("published member {} with client URLs {}", config.name(), urls);
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        LOG.debug("publishing member attributes: {}", e.toString());
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }


  public RaftNode raft() {
    return raft;
  }

  /** Starts the SQL endpoints of --listen-sql-urls, over the in-process etcd API. */
  private void serveSql() throws IOException {
    if (config.listenSqlUrls().isEmpty() || closed) {
      return;
    }
    sqlChannel = io.grpc.inprocess.InProcessChannelBuilder.forName(inProcessName)
        .maxInboundMessageSize(Integer.MAX_VALUE).build();
    sqlClient = EtcdClient.over(sqlChannel);
    for (URI url : config.listenSqlUrls()) {
      InetSocketAddress addr = NodeConfig.socketAddress(url);
      boolean https = url.getScheme().equals("https");
      List<String> suites = https ? clientTls.cipherSuites() : null;
      try {
        sqlServers.add(SqlServer.start(sqlClient, addr.getHostString(), addr.getPort(),
            https ? clientTls.jdkServerContext() : null, suites == null ? List.of() : suites));
      } catch (java.sql.SQLException | RuntimeException e) {
        throw new IOException("cannot serve SQL on " + addr + ": " + e.getMessage(), e);
      }
      LOG.info("serving SQL on {} (jdbc:etcsql:{}//{}:{})", url, https ? "https:" : "", addr.getHostString(),
          addr.getPort());
    }
  }

  /**
   * The client gRPC calls' executor: a small work-stealing pool (2 threads per core, at least 4)
   * instead of grpc-java's default cached pool. Handlers only check a request and hand it on
   * (proposals, range reads, bcrypt, hashing and defragmentation have pools of their own), so a few
   * threads keep up; an idle worker of the cached pool parks and must be woken for each call, and
   * on three members under put load those wake-ups were a large part of each member's kernel time
   * (docs/benchmarks.md, "Fewer wake-ups").
   */
  private static java.util.concurrent.ForkJoinPool callPool() {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    return new java.util.concurrent.ForkJoinPool(Math.max(4, 2 * Runtime.getRuntime().availableProcessors()),
        pool -> {
          java.util.concurrent.ForkJoinWorkerThread t =
              java.util.concurrent.ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
          t.setName("grpc-call-" + n.incrementAndGet());
          return t;
        }, (t, e) -> LOG.error("uncaught in {}", t.getName(), e), true);
  }

  /** Blocks until the node's gRPC servers have shut down. */
  public void awaitTermination() throws InterruptedException {
    for (Server s : servers) {
      s.awaitTermination();
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (removalWatch != null) {
      removalWatch.close();
    }
    for (SqlServer s : sqlServers) {
      s.close();
    }
    if (sqlChannel != null) {
      sqlChannel.shutdownNow();
    }
    gateway.close();
    for (Server s : servers) {
      s.shutdown();
    }
    for (Server s : servers) {
      try {
        if (!s.awaitTermination(2, TimeUnit.SECONDS)) {
          s.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        s.shutdownNow();
      }
    }
    if (metricsHttp != null) {
      metricsHttp.close();
    }
    metrics.close();
    compactor.close();
    calls.shutdownNow();
    reads.shutdownNow();
    hashing.shutdownNow();
    raft.close();
    store.close();
    LOG.info("member {} stopped", config.name());
  }
}
