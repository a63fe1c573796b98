package io.etcsql.kvstore.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RangeIndexTest {
  private record Entry(byte[] start, byte[] end, int id) {
    boolean contains(byte[] k) {
      return Arrays.compareUnsigned(k, start) >= 0 && (end == null || Arrays.compareUnsigned(k, end) < 0);
    }
  }

  @Test
  void matchesExactlyTheRangesContainingTheKeyAsRangesComeAndGo() {
    Random random = new Random(42);
    RangeIndex<Integer> index = new RangeIndex<>();
    List<Entry> entries = new ArrayList<>();
    for (int round = 0; round < 2000; round++) {
      if (entries.isEmpty() || random.nextInt(3) > 0) {
        byte[] start = randomKey(random);
        byte[] end = random.nextInt(5) == 0 ? null : randomKey(random);
        if (end != null && Arrays.compareUnsigned(start, end) >= 0) {
          continue;
        }
        Entry e = new Entry(start, end, round % 50); // ids repeat: several members per range
        entries.add(e);
        index.add(e.start, e.end, e.id);
      } else {
        Entry e = entries.remove(random.nextInt(entries.size()));
        boolean stillThere = entries.stream().anyMatch(o -> Arrays.equals(o.start, e.start)
            && Arrays.equals(o.end, e.end) && o.id == e.id);
        if (!stillThere) {
          index.remove(e.start, e.end, e.id);
        }
      }
      byte[] key = randomKey(random);
      Set<Integer> expected = new HashSet<>();
      entries.stream().filter(e -> e.contains(key)).forEach(e -> expected.add(e.id));
      Set<Integer> actual = new HashSet<>();
      index.forEachMatch(new ByteKey(key), actual::add);
      assertEquals(expected, actual, "round " + round);
    }
  }

  @Test
  void sharedRangesAreStoredOnce() {
    RangeIndex<String> index = new RangeIndex<>();
    index.add(new byte[] {1}, new byte[] {5}, "a");
    index.add(new byte[] {1}, new byte[] {5}, "b");
    index.add(new byte[] {3}, null, "c");
    assertEquals(2, index.distinctRanges());
    List<String> hits = new ArrayList<>();
    index.forEachMatch(new ByteKey(new byte[] {4}), hits::add);
    assertEquals(List.of("a", "b", "c"), hits);
    index.remove(new byte[] {1}, new byte[] {5}, "a");
    index.remove(new byte[] {1}, new byte[] {5}, "b");
    hits.clear();
    index.forEachMatch(new ByteKey(new byte[] {2}), hits::add);
    assertEquals(List.of(), hits);
    index.forEachMatch(new ByteKey(new byte[] {(byte) 0xff}), hits::add);
    assertEquals(List.of("c"), hits);
  }

  private static byte[] randomKey(Random random) {
    byte[] k = new byte[1 + random.nextInt(2)];
    for (int i = 0; i < k.length; i++) {
      k[i] = (byte) (random.nextInt(6) * 50); // includes bytes >= 0x80
    }
    return k;
  }
}
