package io.etcsql.kvstore.backend;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every stored revision, in Chronicle Map files on disk (etcd's "key" bucket in bbolt).
 *
 * <p>A Chronicle Map is a hash map sized when it is created, so the log is a sequence of
 * <em>segments</em>, each a map file named by the first main revision it holds:
 *
 * <pre>
 *   revisions/seg-00000000000000000001.cmap   revisions 1 .. 70211
 *   revisions/seg-00000000000000070212.cmap   revisions 70212 .. (current)
 * </pre>
 *
 * New revisions go to the newest segment; when it has received its planned number of entries
 * or bytes, the next main revision starts a new segment, and if the map still reports that it
 * is full, the revision is rewritten into a fresh segment. A write therefore never fails
 * because a map reached its sized capacity. Compaction deletes records, and a segment left
 * empty is closed and its file removed.
 *
 * <p>A record is stored under the 16-byte key {@code main:8 sub:4 chunk:4}; records longer than
 * {@link #CHUNK_BYTES} are split across consecutive chunks (a value may be up to the request
 * limit, far larger than what one map entry can hold).
 *
 * <p>Thread-safety: one writer (the apply thread) and any number of concurrent readers.
 */
public final class RevisionLog implements Closeable {
  /** Largest map entry written; bigger records are chunked. */
  public static final int CHUNK_BYTES = 16 * 1024;

  private static final Logger LOG = LoggerFactory.getLogger(RevisionLog.class);
  /** {@code seg-<first revision>.cmap}, or {@code seg-<first>.g<generation>.cmap} once defragmented. */
  private static final Pattern SEGMENT_NAME = Pattern.compile("seg-(\\d{20})(?:\\.g(\\d+))?\\.cmap");
  private static final int AVERAGE_ENTRY_BYTES = 512;

  private final Path dir;
  private final long entriesPerSegment;
  private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
  private final SegmentRetirement defrag = new SegmentRetirement();
  private volatile LongConsumer writeTimes;
  private static final String DEFRAG_SUFFIX = ".defrag";

  private static final class Segment {
    final long firstMain;
    final File file;
    final ChronicleMap<byte[], byte[]> map;
    long entriesWritten;
    long bytesWritten;
    /** Bytes (keys and values) of the entries stored now; written by the writer only. */
    volatile long liveBytes;

    Segment(long firstMain, File file, ChronicleMap<byte[], byte[]> map) {
      this.firstMain = firstMain;
      this.file = file;
      this.map = map;
    }
  }

  /**
   * Opens (or creates) the log in {@code dir}.
   *
   * @param entriesPerSegment how many map entries a new segment is sized for
   * @param recover whether existing segment files are recovered first (see {@link PersistedMaps})
   */
  public RevisionLog(Path dir, long entriesPerSegment, boolean recover) throws IOException {
    this.dir = dir;
    this.entriesPerSegment = entriesPerSegment;
    Files.createDirectories(dir);
    File[] files = dir.toFile().listFiles();
    if (files != null) {
      // the newest generation of a segment wins: an older one is left only by a crash after a
      // defragmentation's rename and before the old file's removal
      java.util.Arrays.sort(files, java.util.Comparator.comparingLong(RevisionLog::generation));
      for (File f : files) {
        if (f.getName().endsWith(DEFRAG_SUFFIX)) {
          Files.deleteIfExists(f.toPath()); // a defragmentation interrupted before its swap
          continue;
        }
        Matcher m = SEGMENT_NAME.matcher(f.getName());
        if (m.matches()) {
          long first = Long.parseLong(m.group(1));
          Segment older = segments.put(first, new Segment(first, f, openMap(f, recover)));
          if (older != null) {
            older.map.close();
            Files.deleteIfExists(older.file.toPath());
          }
        }
      }
    }
  }

  /** The defragmentation generation in a segment file's name (0 for none or another file). */
  private static long generation(File f) {
    Matcher m = SEGMENT_NAME.matcher(f.getName());
    return m.matches() && m.group(2) != null ? Long.parseLong(m.group(2)) : 0;
  }

  /** Opens an existing segment (its sizing is read from the file) or creates one so sized. */
  private ChronicleMap<byte[], byte[]> openMap(File f, long entries, int averageEntryBytes, boolean recover)
      throws IOException {
    return PersistedMaps.open(ChronicleMap.of(byte[].class, byte[].class)
        .name("revisions-" + f.getName())
        .constantKeySizeBySample(new byte[16])
        .averageValueSize(averageEntryBytes)
        .entries(entries)
        .maxBloatFactor(4), entries, f, recover);
  }

  private ChronicleMap<byte[], byte[]> openMap(File f, boolean recover) throws IOException {
    return openMap(f, entriesPerSegment, AVERAGE_ENTRY_BYTES, recover);
  }

  private Segment newSegment(long firstMain) {
    return newSegment(firstMain, entriesPerSegment, AVERAGE_ENTRY_BYTES);
  }

  /** A segment sized for at least {@code entries} map entries of about {@code averageEntryBytes}. */
  private Segment newSegment(long firstMain, long entries, int averageEntryBytes) {
    File f = dir.resolve(String.format("seg-%020d.cmap", firstMain)).toFile();
    try {
      Segment old = segments.get(firstMain);
      if (old != null) {
        // A revision that did not fit is being rewritten: replace the segment it started.
        old.map.close();
        Files.deleteIfExists(old.file.toPath());
      }
      Segment s = new Segment(firstMain, f, openMap(f, entries, averageEntryBytes, false));
      segments.put(firstMain, s);
      LOG.info("revision log: new segment {} starting at revision {}", f.getName(), firstMain);
      return s;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create revision segment " + f, e);
    }
  }

  private static byte[] chunkKey(long main, int sub, int chunk) {
    return ByteBuffer.allocate(16).putLong(main).putInt(sub).putInt(chunk).array();
  }

  /**
   * Writes all records of one main revision (sub-revisions 0..n-1). Called only by the apply
   * thread, with increasing main revisions. A previous partial write of the same revision (a
   * crash mid-revision) is overwritten.
   */
  public void writeRevision(long main, List<RevisionRecord> records) {
    LongConsumer timer = writeTimes;
    if (timer == null) {
      write(main, records);
      return;
    }
    long start = System.nanoTime(); // a side metric only: nothing stored depends on it
    write(main, records);
    timer.accept(System.nanoTime() - start);
  }

  /** Sends the duration in nanoseconds of every later {@link #writeRevision} to {@code nanos}. */
  public void onWrite(LongConsumer nanos) {
    writeTimes = nanos;
  }

  private void write(long main, List<RevisionRecord> records) {
    Segment seg = segments.isEmpty() ? null : segments.lastEntry().getValue();
    if (seg == null || (seg.firstMain < main && isFull(seg))) {
      seg = newSegment(main);
    }
    try {
      writeAll(seg, records);
    } catch (IllegalStateException | IllegalArgumentException full) {
      LOG.info("revision log: segment starting at {} is full ({}); rolling", seg.firstMain, full.getMessage());
      if (seg.firstMain < main) {
        for (RevisionRecord r : records) {
          deleteIn(seg, r.mainRevision(), r.subRevision());
        }
      }
      // a fresh segment sized for this revision at least (it may be bigger than a whole segment)
      long entries = 0;
      long bytes = 0;
      for (RevisionRecord r : records) {
        int len = r.encode().length;
        entries += Math.max(1, (len + CHUNK_BYTES - 1) / CHUNK_BYTES);
        bytes += len;
      }
      int average = (int) Math.max(AVERAGE_ENTRY_BYTES, Math.min(CHUNK_BYTES + 4, bytes / Math.max(1, entries) + 1));
      writeAll(newSegment(main, Math.max(entriesPerSegment, 2 * entries), average), records);
    }
  }

  private boolean isFull(Segment s) {
    return s.entriesWritten >= entriesPerSegment || s.bytesWritten >= entriesPerSegment * AVERAGE_ENTRY_BYTES;
  }

  private void writeAll(Segment seg, List<RevisionRecord> records) {
    for (RevisionRecord r : records) {
      byte[] enc = r.encode();
      int chunks = Math.max(1, (enc.length + CHUNK_BYTES - 1) / CHUNK_BYTES);
      for (int c = 0; c < chunks; c++) {
        int from = c * CHUNK_BYTES;
        int len = Math.min(CHUNK_BYTES, enc.length - from);
        // chunk 0 begins with the chunk count so a reader knows how many to fetch
        byte[] part;
        if (c == 0) {
          part = new byte[4 + len];
          ByteBuffer.wrap(part).putInt(chunks);
          System.arraycopy(enc, from, part, 4, len);
        } else {
          part = new byte[len];
          System.arraycopy(enc, from, part, 0, len);
        }
        seg.map.put(chunkKey(r.mainRevision(), r.subRevision(), c), part);
        seg.entriesWritten++;
        seg.bytesWritten += part.length + 16;
        seg.liveBytes += part.length + 16;
      }
    }
  }

  private Segment segmentFor(long main) {
    Map.Entry<Long, Segment> e = segments.floorEntry(main);
    return e == null ? null : e.getValue();
  }

  /**
   * Reads one record, or null if it is not stored (never written, or compacted away).
   *
   * @param withValue false to read only the header (no value), which is cheaper for big values
   */
  public RevisionRecord read(long main, int sub, boolean withValue) {
    Segment seg = segmentFor(main);
    if (seg == null) {
      return null;
    }
    try {
      byte[] first = seg.map.get(chunkKey(main, sub, 0));
      if (first == null) {
        return null;
      }
      int chunks = ByteBuffer.wrap(first).getInt();
      byte[] enc;
      if (chunks == 1 || !withValue) {
        enc = new byte[first.length - 4];
        System.arraycopy(first, 4, enc, 0, enc.length);
      } else {
        List<byte[]> parts = new ArrayList<>(chunks);
        int total = first.length - 4;
        for (int c = 1; c < chunks; c++) {
          byte[] p = seg.map.get(chunkKey(main, sub, c));
          if (p == null) {
            throw new IllegalStateException("revision " + main + "_" + sub + " is missing chunk " + c);
          }
          parts.add(p);
          total += p.length;
        }
        enc = new byte[total];
        System.arraycopy(first, 4, enc, 0, first.length - 4);
        int pos = first.length - 4;
        for (byte[] p : parts) {
          System.arraycopy(p, 0, enc, pos, p.length);
          pos += p.length;
        }
      }
      return RevisionRecord.decode(main, sub, enc, withValue);
    } catch (IllegalStateException closed) {
      if (seg.map.isClosed() && segmentFor(main) != seg && segmentFor(main) != null) {
        return read(main, sub, withValue); // the segment was rewritten by a defragmentation
      }
      if (seg.map.isClosed()) {
        return null; // the segment was dropped by a concurrent compaction
      }
      throw closed;
    }
  }

  /** Deletes one record (all its chunks); absent records are ignored. */
  public void delete(long main, int sub) {
    Segment seg = segmentFor(main);
    if (seg != null) {
      deleteIn(seg, main, sub);
    }
  }

  private static void deleteIn(Segment seg, long main, int sub) {
    byte[] first = seg.map.remove(chunkKey(main, sub, 0));
    if (first != null) {
      seg.liveBytes -= first.length + 16;
      int chunks = ByteBuffer.wrap(first).getInt();
      for (int c = 1; c < chunks; c++) {
        byte[] part = seg.map.remove(chunkKey(main, sub, c));
        if (part != null) {
          seg.liveBytes -= part.length + 16;
        }
      }
    }
  }

  /** Closes and removes every segment, other than the newest, that holds no record any more. */
  public void dropEmptySegments() {
    if (segments.size() < 2) {
      return;
    }
    long newest = segments.lastKey();
    for (Segment s : new ArrayList<>(segments.values())) {
      if (s.firstMain != newest && s.map.longSize() == 0) {
        segments.remove(s.firstMain);
        s.map.close();
        try {
          Files.deleteIfExists(s.file.toPath());
        } catch (IOException e) {
          LOG.warn("cannot delete empty segment {}", s.file, e);
        }
      }
    }
  }

  /**
   * Visits the header (no value) of every stored record, in no particular order. Used at
   * start-up to rebuild the key index; also measures how full the newest segment is.
   */
  public void forEachHeader(Consumer<RevisionRecord> visitor) {
    for (Segment seg : segments.values()) {
      long entries = 0;
      long bytes = 0;
      for (Map.Entry<byte[], byte[]> e : seg.map.entrySet()) {
        entries++;
        bytes += e.getValue().length + 16;
        ByteBuffer k = ByteBuffer.wrap(e.getKey());
        long main = k.getLong();
        int sub = k.getInt();
        int chunk = k.getInt();
        if (chunk == 0) {
          byte[] v = e.getValue();
          byte[] enc = new byte[v.length - 4];
          System.arraycopy(v, 4, enc, 0, enc.length);
          visitor.accept(RevisionRecord.decode(main, sub, enc, false));
        }
      }
      seg.entriesWritten = entries;
      seg.bytesWritten = bytes;
      seg.liveBytes = bytes;
    }
  }

  /** The (main, sub) of every stored record with main revision <= maxMain, in revision order. */
  public long[][] revisionsUpTo(long maxMain) {
    List<long[]> out = new ArrayList<>();
    for (Segment seg : segments.values()) {
      if (seg.firstMain > maxMain) {
        continue;
      }
      for (byte[] k : seg.map.keySet()) {
        ByteBuffer b = ByteBuffer.wrap(k);
        long main = b.getLong();
        int sub = b.getInt();
        if (b.getInt() == 0 && main <= maxMain) {
          out.add(new long[] {main, sub});
        }
      }
    }
    out.sort((x, y) -> x[0] != y[0] ? Long.compare(x[0], y[0]) : Long.compare(x[1], y[1]));
    return out.toArray(new long[0][]);
  }

  /** Bytes the segment files take on disk (their allocated size). */
  public long sizeOnDisk() {
    long total = 0;
    for (Segment s : segments.values()) {
      total += s.file.length();
    }
    return total;
  }

  /** Bytes the stored records take (keys and values of every map entry): etcd's "size in use". */
  public long sizeInUse() {
    long total = 0;
    for (Segment s : segments.values()) {
      total += s.liveBytes;
    }
    return total;
  }

  /** The first main revision of every segment, oldest first. */
  public long[] segmentStarts() {
    return segments.keySet().stream().mapToLong(Long::longValue).toArray();
  }

  /**
   * Rewrites one segment compactly (etcd's defragmentation): its live entries are copied into a
   * fresh map sized to them (the newest segment keeps room for about as many again), the new
   * file is forced to disk and renamed over the old one, and readers switch to it at once; the
   * old map is closed a little later, once readers that started on it are done. The caller must
   * keep writers out (the store holds its apply lock). Nothing changes if the copy fails.
   *
   * @return bytes of file size given back (may be negative for a nearly full newest segment)
   */
  public long defragment(long firstMain) throws IOException {
    Segment old = segments.get(firstMain);
    if (old == null) {
      return 0;
    }
    boolean newest = firstMain == segments.lastKey();
    long entries = 0;
    long bytes = 0;
    for (Map.Entry<byte[], byte[]> e : old.map.entrySet()) {
      entries++;
      bytes += e.getValue().length + 16;
    }
    long planned = Math.max(16, newest ? Math.max(2 * entries, 256) : entries);
    int average = (int) Math.max(64, Math.min(CHUNK_BYTES + 4, entries == 0 ? AVERAGE_ENTRY_BYTES : bytes / entries + 1));
    long before = old.file.length();
    // a new file name: Chronicle Map shares one open file per path, so the old map's path cannot be reused
    File target = dir.resolve(String.format("seg-%020d.g%d.cmap", firstMain, generation(old.file) + 1)).toFile();
    File tmp = new File(target.getPath() + DEFRAG_SUFFIX);
    Files.deleteIfExists(tmp.toPath());
    ChronicleMap<byte[], byte[]> fresh = openMap(tmp, planned, average, false);
    try {
      for (Map.Entry<byte[], byte[]> e : old.map.entrySet()) {
        fresh.put(e.getKey(), e.getValue());
      }
      try (FileChannel ch = FileChannel.open(tmp.toPath(), StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      fresh.close();
    } catch (IOException | RuntimeException e) {
      fresh.close();
      Files.deleteIfExists(tmp.toPath());
      throw e instanceof IOException io ? io : new IOException("defragmenting " + old.file + " failed", e);
    }
    // the map was closed before its rename: a map keeps using the path it was created at
    Files.move(tmp.toPath(), target.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    try {
      fresh = openMap(target, false);
    } catch (IOException | RuntimeException e) {
      // The old segment is intact and still in use; the new file would win at the next open
      // while every later write goes to the old one. Take it away again, or stop here.
      try {
        Files.delete(target.toPath());
      } catch (IOException | RuntimeException d) {
        e.addSuppressed(d);
        throw new UnrecoverableStoreException("segment " + target + " replaced " + old.file
            + " but can be neither opened nor removed; the member must stop before it writes more", e);
      }
      throw new IOException("defragmenting " + old.file + " failed: its rewritten copy cannot be opened", e);
    }
    Segment s = new Segment(firstMain, target, fresh);
    s.entriesWritten = entries;
    s.bytesWritten = bytes;
    s.liveBytes = bytes;
    segments.put(firstMain, s);
    defrag.retire(old.map);
    try {
      Files.deleteIfExists(old.file.toPath()); // its space returns once the retired map is closed
    } catch (IOException e) {
      LOG.warn("cannot delete defragmented segment file {}", old.file, e);
    }
    long after = s.file.length();
    LOG.info("revision log: defragmented segment {} ({} entries, {} bytes; file now {} bytes)",
        s.file.getName(), entries, bytes, after);
    return before - after;
  }

  /** Forces every segment's written pages to disk (fsync of the mapped files). */
  public void sync() throws IOException {
    for (Segment s : segments.values()) {
      try (FileChannel ch = FileChannel.open(s.file.toPath(), StandardOpenOption.WRITE)) {
        ch.force(true);
      }
    }
  }

  /** Deletes everything (used before loading a snapshot from the leader). */
  public void clear() throws IOException {
    for (Segment s : segments.values()) {
      s.map.close();
      Files.deleteIfExists(s.file.toPath());
    }
    segments.clear();
  }

  @Override
  public void close() {
    for (Segment s : segments.values()) {
      s.map.close();
    }
    defrag.closeRetired();
  }
}
