package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed while it holds a Chronicle Map segment lock leaves that lock set in the file.
 * The next open must clear it (and not spin for Chronicle's 60-second lock timeout), keeping
 * every applied write.
 */
class KvStoreCrashedProcessTest {
  @TempDir
  Path dir;

  @Test
  void aStoreWhoseProcessDiedHoldingAMapLockOpensPromptlyWithItsData() throws Exception {
    Path out = dir.resolve("child.out");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-") || a.startsWith("-Dchronicle")).toList());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(DieHoldingLock.class.getName());
    cmd.add(dir.resolve("store").toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly();
    }
    assertEquals(DieHoldingLock.EXIT, p.exitValue(), () -> "child: " + read(out));

    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      try (KvStore store = KvStore.open(dir.resolve("store"), KvStore.Options.defaults())) {
        RangeResponse all = store.range(RangeRequest.newBuilder().setKey(b("k/")).setRangeEnd(b("k0")).build());
        assertEquals(DieHoldingLock.KEYS, all.getCount());
        assertEquals(DieHoldingLock.KEYS + 1, all.getHeader().getRevision());
        assertEquals(DieHoldingLock.KEYS, store.appliedIndex());
      }
    });
    // and a clean close followed by an open still has everything
    try (KvStore store = KvStore.open(dir.resolve("store"), KvStore.Options.defaults())) {
      assertEquals(DieHoldingLock.KEYS + 1, store.range(RangeRequest.newBuilder().setKey(b("k/000")).build())
          .getHeader().getRevision());
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (Exception e) {
      return e.toString();
    }
  }

  /** The child: applies puts, then dies (no close, no shutdown hooks) holding the meta map's write lock. */
  public static final class DieHoldingLock {
    static final int KEYS = 300;
    static final int EXIT = 57;

    public static void main(String[] args) throws Exception {
      Path store = Path.of(args[0]);
      KvStoreFixture s = new KvStoreFixture(store);
      for (int i = 0; i < KEYS; i++) {
        s.put(String.format("k/%03d", i), "v" + i);
      }
      // a second handle on the meta file in this process; its header gives the sizing
      File meta = store.resolve("meta.cmap").toFile();
      ChronicleMap<byte[], byte[]> m = ChronicleMap.of(byte[].class, byte[].class)
          .averageKeySize(8).averageValueSize(256).entries(1024).createPersistedTo(meta);
      ExternalMapQueryContext<byte[], byte[], ?> ctx = m.queryContext("applied".getBytes());
      ctx.writeLock().lock();
      System.out.println("holding the write lock of the segment of 'applied'");
      System.out.flush();
      Runtime.getRuntime().halt(EXIT);
    }
  }
}
