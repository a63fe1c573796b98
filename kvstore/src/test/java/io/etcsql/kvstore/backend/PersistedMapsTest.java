package io.etcsql.kvstore.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PersistedMapsTest {
  @TempDir
  Path dir;

  private static byte[] key(long i) {
    return ByteBuffer.allocate(16).putLong(i).putLong(~i).array();
  }

  private static ChronicleMapBuilder<byte[], byte[]> builder(long entries) {
    return ChronicleMap.of(byte[].class, byte[].class).constantKeySizeBySample(new byte[16])
        .averageValueSize(64).entries(entries).maxBloatFactor(4);
  }

  @Test
  void aRecoveredMapIsRebuiltWithEveryEntryAndKeepsWorking() throws Exception {
    File f = dir.resolve("m.cmap").toFile();
    // more entries than configured (the map grew into extra tiers), as Chronicle-Map issue 251
    try (ChronicleMap<byte[], byte[]> m = PersistedMaps.open(builder(1000), 1000, f, false)) {
      for (long i = 0; i < 3000; i++) {
        m.put(key(i), ByteBuffer.allocate(8 + (int) (i % 50)).putLong(i).array());
      }
    }
    Files.writeString(dir.resolve("m.cmap.rebuilt"), "left by a crash during an earlier rebuild");
    try (ChronicleMap<byte[], byte[]> m = PersistedMaps.open(builder(1000), 1000, f, true)) {
      assertEquals(3000, m.size());
      for (long i = 0; i < 3000; i++) {
        assertEquals(i, ByteBuffer.wrap(m.get(key(i))).getLong(), "entry " + i);
      }
      // room for as many again: the copy is sized for twice what it holds
      for (long i = 3000; i < 9000; i++) {
        m.put(key(i), new byte[] {(byte) i});
        assertArrayEquals(new byte[] {(byte) i}, m.get(key(i)), "a put is readable at once: " + i);
      }
    }
    assertFalse(Files.exists(dir.resolve("m.cmap.rebuilt")), "no copy is left behind");
    try (ChronicleMap<byte[], byte[]> m = PersistedMaps.open(builder(1000), 1000, f, false)) {
      assertEquals(9000, m.size(), "the rebuilt file reopens normally");
    }
  }
}
