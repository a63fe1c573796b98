package io.etcsql.bench.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of the load tool that must match etcd's benchmark: its keys and its flags. */
class LoadToolTest {
  @Test
  void keysAreGoPutVarintPaddedToKeySize() {
    Keys keys = new Keys(8, 100_000, true);
    // Go: binary.PutVarint(k, 0) -> 00; 1 -> 02; 63 -> 7e; 64 -> 80 01; 99999 -> be 9a 0c
    assertArrayEquals(new byte[8], keys.get(0).toByteArray());
    assertArrayEquals(new byte[] {2, 0, 0, 0, 0, 0, 0, 0}, keys.get(1).toByteArray());
    assertArrayEquals(new byte[] {0x7e, 0, 0, 0, 0, 0, 0, 0}, keys.get(63).toByteArray());
    assertArrayEquals(new byte[] {(byte) 0x80, 1, 0, 0, 0, 0, 0, 0}, keys.get(64).toByteArray());
    assertArrayEquals(new byte[] {(byte) 0xbe, (byte) 0x9a, 0x0c, 0, 0, 0, 0, 0}, keys.get(99_999).toByteArray());
    assertEquals(7, keys.indexFor(100_007));
    assertThrows(IllegalArgumentException.class, () -> new Keys(2, 100_000, false));
  }

  @Test
  void flagsAsCobraTakesThem() {
    LoadOptions o = new LoadOptions(new String[] {"range", "k", "--consistency=s", "--clients", "100", "--prefill",
        "--stream=false", "--label", "cell=range s 100", "end"});
    assertEquals("range", o.bench);
    assertEquals(List.of("k", "end"), o.args);
    assertEquals("s", o.string("consistency", "l"));
    assertEquals(100, o.positiveInt("clients", 1));
    assertEquals(true, o.bool("prefill", false));
    assertEquals(false, o.bool("stream", true));
    assertEquals("range s 100", o.labels.get("cell"));
    assertEquals(1_500_000_000L, new LoadOptions(new String[] {"put", "--dial-timeout", "1500ms"})
        .durationNanos("dial-timeout", "10s"));
    assertEquals("unknown flag: --nope",
        assertThrows(IllegalArgumentException.class, () -> new LoadOptions(new String[] {"put", "--nope"})).getMessage());
    assertEquals("expected positive --clients, got (0)", assertThrows(IllegalArgumentException.class,
        () -> new LoadOptions(new String[] {"put", "--clients=0"}).positiveInt("clients", 1)).getMessage());
  }
}
