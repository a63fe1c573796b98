package io.etcsql.examples.registry;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.stub.StreamObserver;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Service registry on the etcd v3 API, written against plain jetcd (it runs the same against etcd and etcsql).
 *
 * <pre>
 *   register --service NAME --id ID --addr HOST:PORT [--ttl SECONDS]
 *       /services/NAME/ID = HOST:PORT, attached to a lease kept alive while the process runs; also campaigns in the
 *       election /election/NAME with the value ID. SIGTERM resigns and revokes the lease (the entry goes at once);
 *       a crash leaves the lease to expire after the TTL.
 *   discover --service NAME
 *       prints the instances ("up ID ADDR"), then every change ("up ID ADDR", "down ID") and every new leader
 *       ("leader is ID").
 * </pre>
 *
 * Every command takes {@code --endpoints URL[,URL...]}; without it, $ETCDCTL_ENDPOINTS, else http://127.0.0.1:2379.
 */
public final class RegistryApp {

    static final String SERVICES = "/services/";
    static final String ELECTION = "/election/";
    static final long TIMEOUT_SECONDS = 10;

    private RegistryApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage("no command");
        }
        Map<String, String> opts = options(args);
        Set<String> known = args[0].equals("register")
                ? Set.of("service", "id", "addr", "ttl", "endpoints")
                : Set.of("service", "endpoints");
        for (String name : opts.keySet()) {
            if (!known.contains(name)) {
                usage("unknown option --" + name);
            }
        }
        String endpoints = opts.getOrDefault("endpoints",
                System.getenv().getOrDefault("ETCDCTL_ENDPOINTS", "http://127.0.0.1:2379"));
        int code;
        try {
            code = run(args[0], opts, endpoints);
        } catch (ExecutionException | TimeoutException e) {
            // a request failed or the member did not answer: one line, not a stack trace
            err(args[0] + " failed: " + (e instanceof ExecutionException ? e.getCause()
                    : "no answer from " + endpoints + " within " + TIMEOUT_SECONDS + " s"));
            code = 1;
        }
        System.exit(code);
    }

    static int run(String command, Map<String, String> opts, String endpoints) throws Exception {
        switch (command) {
            case "register" -> {
                String service = required(opts, "service");
                String id = required(opts, "id");
                String addr = required(opts, "addr");
                long ttl = 0;
                try {
                    ttl = Long.parseLong(opts.getOrDefault("ttl", "5"));
                } catch (NumberFormatException e) {
                    usage("--ttl takes a number of seconds");
                }
                return register(client(endpoints), service, id, addr, ttl);
            }
            case "discover" -> {
                return discover(client(endpoints), required(opts, "service"));
            }
            default -> {
                usage("unknown command " + command);
                return 2;
            }
        }
    }

    static Client client(String endpoints) {
        return Client.builder().endpoints(endpoints.split(",")).build();
    }

    // ---- register ----

    /** Registers and campaigns; returns only if the registration is lost (exit code 1). */
    static int register(Client client, String service, String id, String addr, long ttl) throws Exception {
        long lease = client.getLeaseClient().grant(ttl).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).getID();
        String leaseHex = Long.toHexString(lease);
        CompletableFuture<Integer> lost = new CompletableFuture<>();
        AtomicBoolean stopping = new AtomicBoolean();
        // renew from now on, before anything else: with a short TTL the first renewal must not wait for the put
        CloseableClient keepAlive = client.getLeaseClient().keepAlive(lease, new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
            }

            @Override
            public void onError(Throwable t) {
                if (stopping.get()) {
                    return;
                }
                if (t instanceof EtcdException e && e.getErrorCode() == ErrorCode.NOT_FOUND) {
                    // the lease expired on the server (e.g. this process was paused longer than the TTL):
                    // our entry is gone, so stop rather than run unregistered
                    err("lease " + leaseHex + " lost: " + e.getMessage());
                    lost.complete(1);
                } else {
                    // jetcd reopens the keep-alive stream by itself; the lease survives as long as one gets through
                    err("keep-alive: " + t + " (retrying)");
                }
            }

            @Override
            public void onCompleted() {
                // jetcd ends the observer when no keep-alive was answered within the TTL
                if (!stopping.get()) {
                    err("lease " + leaseHex + " expired");
                    lost.complete(1);
                }
            }
        });

        // the key lives exactly as long as the lease: no one has to clean up after a crashed instance
        client.getKVClient().put(bs(SERVICES + service + "/" + id), bs(addr),
                PutOption.builder().withLeaseId(lease).build()).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        out("registered " + id + " lease=" + leaseHex);

        Election election = client.getElectionClient();
        AtomicReference<LeaderKey> leadership = new AtomicReference<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (lost.isDone()) {
                return; // nothing left to give back
            }
            stopping.set(true);
            keepAlive.close();
            LeaderKey leader = leadership.get();
            if (leader != null) {
                // hands leadership over now (the revoke below would too, as the election key has the same lease;
                // resigning first says so explicitly)
                try {
                    election.resign(leader).get(3, TimeUnit.SECONDS);
                    out("resigned " + id);
                } catch (Exception e) {
                    err("resign failed: " + e);
                }
            }
            try {
                // deletes /services/NAME/ID (and a pending campaign's key) at once, instead of after the TTL
                client.getLeaseClient().revoke(lease).get(3, TimeUnit.SECONDS);
                out("revoked lease=" + leaseHex);
            } catch (Exception e) {
                err("revoke failed: " + e);
            }
            client.close();
        }, "unregister"));

        // the server answers the campaign only once every earlier candidate's key is gone, so this is "wait until
        // leader" without blocking the thread; the candidate key is attached to our lease, so a crashed leader's
        // key expires with it and the next candidate takes over
        election.campaign(bs(ELECTION + service), lease, bs(id)).whenComplete((r, t) -> {
            if (stopping.get()) {
                return;
            }
            if (t != null) {
                err("campaign failed: " + t);
                lost.complete(1);
                return;
            }
            leadership.set(r.getLeader());
            out("leader: " + id);
        });
        return lost.get();
    }

    // ---- discover ----

    /** Lists the instances, then follows changes until the watch fails (exit code 1). */
    static int discover(Client client, String service) throws Exception {
        String prefix = SERVICES + service + "/";
        GetResponse now = client.getKVClient().get(bs(prefix), GetOption.builder().isPrefix(true).build())
                .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        for (KeyValue kv : now.getKvs()) {
            out("up " + str(kv.getKey()).substring(prefix.length()) + " " + str(kv.getValue()));
        }
        // watching from the revision right after the snapshot misses nothing and repeats nothing, even if instances
        // came or went between the get and the watch
        long from = now.getHeader().getRevision() + 1;
        out("watching " + prefix + " from revision " + from);

        CompletableFuture<Integer> failed = new CompletableFuture<>();
        client.getWatchClient().watch(bs(prefix), WatchOption.builder().isPrefix(true).withRevision(from).build(),
                (WatchResponse r) -> {
                    for (WatchEvent e : r.getEvents()) {
                        String id = str(e.getKeyValue().getKey()).substring(prefix.length());
                        switch (e.getEventType()) {
                            case PUT -> out("up " + id + " " + str(e.getKeyValue().getValue()));
                            case DELETE -> out("down " + id);
                            default -> {
                            }
                        }
                    }
                },
                t -> {
                    // jetcd re-establishes a broken watch itself; what reaches here is final (e.g. compacted)
                    err("watch failed: " + t);
                    failed.complete(1);
                });
        observeLeader(client.getElectionClient(), bs(ELECTION + service), new AtomicReference<>());
        return failed.get();
    }

    /**
     * Prints "leader is ID" whenever the election gets a new leader. The server sends the current leader, then each
     * new one; jetcd does not reopen this stream, so we do, a second after it ends.
     */
    static void observeLeader(Election election, ByteSequence name, AtomicReference<String> last) {
        election.observe(name, new Election.Listener() {
            @Override
            public void onNext(LeaderResponse r) {
                // the leader's key (name/<lease in hex>) and its creation identify a term: an instance that restarts
                // and wins again has a new lease, so it is a new leader even with the same ID
                String term = str(r.getKv().getKey()) + "@" + r.getKv().getCreateRevision();
                if (!term.equals(last.getAndSet(term))) {
                    out("leader is " + str(r.getKv().getValue()));
                }
            }

            @Override
            public void onError(Throwable t) {
                err("observe: " + t + " (retrying)");
                again();
            }

            @Override
            public void onCompleted() {
                again();
            }

            private void again() {
                CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS)
                        .execute(() -> observeLeader(election, name, last));
            }
        });
    }

    // ---- helpers ----

    /** One line on stdout, flushed at once: whoever reads our output (a test, a pipe) sees each event as it happens. */
    static synchronized void out(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static synchronized void err(String line) {
        System.err.println(line);
        System.err.flush();
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String str(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    /** {@code --name value} and {@code --name=value} after the command. */
    static Map<String, String> options(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                usage("unexpected argument " + a);
            }
            int eq = a.indexOf('=');
            if (eq > 0) {
                opts.put(a.substring(2, eq), a.substring(eq + 1));
            } else if (i + 1 < args.length) {
                opts.put(a.substring(2), args[++i]);
            } else {
                usage("missing value for " + a);
            }
        }
        return opts;
    }

    static String required(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null || v.isEmpty()) {
            usage("missing --" + name);
        }
        return v;
    }

    static void usage(String problem) {
        System.err.println(problem + "\n"
                + "usage: RegistryApp register --service NAME --id ID --addr HOST:PORT [--ttl SECONDS] [--endpoints URLS]\n"
                + "       RegistryApp discover --service NAME [--endpoints URLS]\n"
                + "endpoints: --endpoints, else $ETCDCTL_ENDPOINTS, else http://127.0.0.1:2379");
        System.exit(2);
    }
}
