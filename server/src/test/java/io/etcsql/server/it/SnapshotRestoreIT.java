package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Backup and restore as an operator does it: {@code etcdctl snapshot save} from a running member,
 * {@code etcsql snapshot restore} once per member of a new three-member cluster, then start it.
 */
@ExtendWith(DumpLogsOnFailure.class)
class SnapshotRestoreIT {

  /** Runs {@code bin/etcsql snapshot restore <args>}: exit code and output (stdout + stderr). */
  private static Etcdctl.Result restore(List<String> args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(ServerProcess.home().resolve("bin/etcsql").toString(), "snapshot", "restore"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Etcdctl.Result(p.exitValue(), out, err);
  }

  /** The restore flags of a cluster member: the same as its own etcd flags for these five. */
  private static List<String> restoreFlags(ServerProcess m, Path snapshot) {
    List<String> f = m.flags();
    List<String> out = new ArrayList<>(List.of(snapshot.toString()));
    for (String name : List.of("--name", "--data-dir", "--initial-cluster", "--initial-cluster-token",
        "--initial-advertise-peer-urls")) {
      out.add(name);
      out.add(f.get(f.indexOf(name) + 1));
    }
    return out;
  }

  @Test
  void aSavedSnapshotRestoresANewThreeMemberClusterWithTheSameKeysRevisionsAndLeases() throws Exception {
    assumeFalse(ServerProcess.targetIsEtcd(), "etcsql only: etcd restores with etcdctl snapshot restore");
    Path snapshot;
    JsonNode before;
    String leaseId;
    try (Cluster source = Cluster.start(1)) {
      Etcdctl ctl = source.ctl(0);
      ctl.ok("put", "/app/a", "1");
      ctl.ok("put", "/app/b", "1");
      ctl.ok("put", "/app/a", "2");
      ctl.ok("compaction", "3");
      ctl.ok("del", "/app/b");
      leaseId = ctl.ok("lease", "grant", "600").split(" ")[1];
      ctl.ok("put", "--lease=" + leaseId, "/app/leased", "x");
      snapshot = source.baseDir().resolve("backup.db");
      Etcdctl.Result saved = ctl.run("snapshot", "save", snapshot.toString());
      assertEquals(0, saved.exitCode(), saved.toString());
      assertEquals("Snapshot saved at " + snapshot, saved.stdout().trim());
      before = Cluster.json(ctl.ok("get", "", "--prefix", "-w", "json"));
      Path kept = Files.createTempFile("etcsql-backup", ".db");
      Files.copy(snapshot, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      snapshot = kept;
    }
    long revision = before.get("header").get("revision").asLong();

    try (Cluster target = Cluster.create(3, List.of())) {
      try {
        for (ServerProcess m : target.members()) {
          Etcdctl.Result r = restore(restoreFlags(m, snapshot));
          assertEquals(0, r.exitCode(), r.toString());
          assertTrue(r.stdout().startsWith("restored snapshot " + snapshot + " (revision " + revision + ") into "), r.stdout());
        }
        // refused: an existing data dir; a corrupt file, unless the hash check is skipped
        Etcdctl.Result again = restore(restoreFlags(target.member(0), snapshot));
        assertEquals(1, again.exitCode());
        assertEquals("Error: data-dir \"" + target.member(0).dataDir() + "\" exists", again.err());
        Path corrupt = target.baseDir().resolve("corrupt.db");
        byte[] bytes = Files.readAllBytes(snapshot);
        bytes[bytes.length - 1] ^= 1;
        Files.write(corrupt, bytes);
        Path spare = target.baseDir().resolve("spare.etcd");
        List<String> spareFlags = restoreFlags(target.member(0), corrupt);
        spareFlags.set(spareFlags.indexOf("--data-dir") + 1, spare.toString());
        Etcdctl.Result bad = restore(spareFlags);
        assertEquals("Error: snapshot checksum mismatch: the snapshot is corrupt", bad.err());
        assertFalse(Files.exists(spare), "a refused restore leaves no data dir behind");
        spareFlags.add("--skip-hash-check");
        assertEquals(0, restore(spareFlags).exitCode());

        for (ServerProcess m : target.members()) {
          m.start();
        }
        for (ServerProcess m : target.members()) {
          m.waitReady();
        }
        Set<String> hashes = new HashSet<>();
        for (int i = 0; i < 3; i++) {
          Etcdctl ctl = target.ctl(i);
          JsonNode after = Cluster.json(ctl.ok("get", "", "--prefix", "-w", "json"));
          assertEquals(before.get("kvs"), after.get("kvs"), "member " + i);
          assertEquals(revision, after.get("header").get("revision").asLong());
          assertEquals("2", ctl.ok("get", "/app/a", "--rev=4", "--print-value-only").trim(), "history after the compaction");
          assertTrue(ctl.run("get", "/app/a", "--rev=2").err().contains("required revision has been compacted"));
          hashes.add(ctl.ok("endpoint", "hashkv", "--rev=" + revision).split(", ")[1].trim());
        }
        assertEquals(1, hashes.size(), "HashKV equal on every member: " + hashes);
        Etcdctl ctl = target.ctl(1);
        assertTrue(ctl.ok("lease", "list").contains(leaseId), "the lease is restored");
        String members = ctl.ok("member", "list");
        for (ServerProcess m : target.members()) {
          assertTrue(members.contains(", started, " + m.name() + ", " + m.peerUrl() + ", "), members);
        }
        assertEquals(3, members.trim().split("\n").length, "only the new cluster's members: " + members);
        JsonNode put = Cluster.json(ctl.ok("put", "/app/new", "v", "-w", "json"));
        assertEquals(revision + 1, put.get("header").get("revision").asLong(), "revisions continue");
      } catch (RuntimeException | Error e) {
        target.onFailure(e);
        throw e;
      }
    } finally {
      Files.deleteIfExists(snapshot);
    }
  }
}
