package io.etcsql.faulttests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The TCP proxy of one directed peer link i->k: listens on 127.0.i.k:PORTk (the address member i resolves nk to
 * through its own hosts file) and forwards every connection to 127.0.0.1:REALk, where member k really listens.
 * {@link #cut()} resets every open connection and every new one (traffic in both directions on the connections
 * that i opens towards k stops); {@link #heal()} lets connections through again. Loopback only.
 */
final class TcpProxy implements AutoCloseable {

    private final String name;
    private final InetSocketAddress listen;
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile boolean cut;
    private volatile boolean closed;

    TcpProxy(String name, InetSocketAddress listen, InetSocketAddress target) throws IOException {
        if (!listen.getAddress().isLoopbackAddress() || !target.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("loopback addresses only: " + listen + " -> " + target);
        }
        this.name = name;
        this.listen = listen;
        this.target = target;
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(listen, 64);
        Thread t = new Thread(this::acceptLoop, "proxy-" + name);
        t.setDaemon(true);
        t.start();
    }

    String name() {
        return name;
    }

    boolean isCut() {
        return cut;
    }

    /** Cuts the link: resets the open connections, and new ones as soon as they are accepted. */
    void cut() {
        cut = true;
        for (Socket s : open) {
            reset(s);
        }
    }

    void heal() {
        cut = false;
    }

    long accepted() {
        return accepted.get();
    }

    long refused() {
        return refused.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket in;
            try {
                in = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            if (cut) {
                refused.incrementAndGet();
                reset(in);
                continue;
            }
            accepted.incrementAndGet();
            Socket out = new Socket();
            try {
                out.connect(target, 2000);
                in.setTcpNoDelay(true);
                out.setTcpNoDelay(true);
            } catch (IOException e) {
                reset(in);
                closeQuietly(out);
                continue;
            }
            open.add(in);
            open.add(out);
            if (cut) { // cut between accept and registration
                reset(in);
                reset(out);
            }
            java.util.concurrent.atomic.AtomicInteger ended = new java.util.concurrent.atomic.AtomicInteger();
            pump(in, out, "->", ended);
            pump(out, in, "<-", ended);
        }
    }

    private void pump(Socket from, Socket to, String dir, java.util.concurrent.atomic.AtomicInteger ended) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[32 * 1024];
            try {
                InputStream is = from.getInputStream();
                OutputStream os = to.getOutputStream();
                while (true) {
                    int n = is.read(buf);
                    if (n < 0) {
                        break;
                    }
                    if (cut) {
                        break;
                    }
                    os.write(buf, 0, n);
                }
                if (!cut) {
                    try {
                        to.shutdownOutput();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            } catch (IOException e) {
                // connection reset or closed: reset the other side too
                reset(from);
                reset(to);
            } finally {
                if (cut || closed) {
                    reset(from);
                    reset(to);
                }
                if (ended.incrementAndGet() == 2) {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }
        }, "proxy-" + name + dir);
        t.setDaemon(true);
        t.start();
    }

    /** Close with SO_LINGER 0: the peer sees a connection reset at once, not a graceful end of stream. */
    private void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (SocketException ignored) {
            // already closed
        }
        closeQuietly(s);
    }

    private void closeQuietly(Socket s) {
        open.remove(s);
        try {
            s.close();
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public void close() {
        closed = true;
        cut = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // best effort
        }
        for (Socket s : open) {
            reset(s);
        }
    }

    @Override
    public String toString() {
        return name + "(" + listen + " -> " + target + (cut ? ", CUT" : "") + ")";
    }

    static InetAddress loopback(int a, int b) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) a, (byte) b});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
