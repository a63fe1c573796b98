package io.etcsql.server.it;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Message;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The requests of {@link GrpcFuzzIT}, from one seeded {@link Random}: random byte strings, valid
 * messages of any request type with random field values (filled through the generated builders'
 * descriptors, with values aimed at etcd's edge cases by field name), and mutations of valid
 * encodings. Keys never start with {@link #PROTECTED} (the test's own keys live there).
 */
final class RequestFuzzer {

    /** The prefix of the keys the fuzz must never touch: no generated key starts with it. */
    static final ByteString PROTECTED = ByteString.copyFrom(new byte[] {0, 1});

    /** What the generator aims values at: the node's state as the test last saw it. */
    record Knowledge(LongSupplier revision, Supplier<List<Long>> leaseIds, Supplier<List<Long>> memberIds,
                     List<String> peerUrls) {
    }

    private static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});
    private static final List<ByteString> KEYS = List.of(
            ByteString.EMPTY, ZERO, bs("a"), bs("b"), bs("fz/"), bs("fz/1"), bs("fz/2"), bs("fz/3"), bs("fz/4"),
            bs("fz/5"), bs("fz0"), bs("z"), ByteString.copyFrom(new byte[] {(byte) 0xff}),
            ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff}), bs("fz/\u00e9\u0000x"));
    private static final int MAX_DEPTH = 3;

    private final Random rnd;
    private final Knowledge known;
    private final int maxTxnOps;
    private final int maxRequestBytes;

    RequestFuzzer(Random rnd, Knowledge known, int maxTxnOps, int maxRequestBytes) {
        this.rnd = rnd;
        this.known = known;
        this.maxTxnOps = maxTxnOps;
        this.maxRequestBytes = maxRequestBytes;
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    Random random() {
        return rnd;
    }

    // ------------------------------------------------------------------ random bytes

    /** Random bytes: mostly short, some up to 4 KiB; a third look like protobuf fields. */
    byte[] randomBytes() {
        int r = rnd.nextInt(100);
        int len = r < 35 ? rnd.nextInt(9) : r < 80 ? 9 + rnd.nextInt(56) : 65 + rnd.nextInt(4032);
        if (rnd.nextInt(3) == 0) {
            return randomFields(len);
        }
        byte[] b = new byte[len];
        rnd.nextBytes(b);
        return b;
    }

    /** {@code size} random bytes (for the requests around the size limits). */
    byte[] randomBytes(int size) {
        byte[] b = new byte[size];
        rnd.nextBytes(b);
        return b;
    }

    /** Well-formed wire format of random fields (any number, any wire type), about {@code len} bytes. */
    private byte[] randomFields(int len) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            while (out.getTotalBytesWritten() < len) {
                int field = 1 + rnd.nextInt(rnd.nextInt(4) == 0 ? 1000 : 16);
                switch (rnd.nextInt(4)) {
                    case 0 -> out.writeInt64(field, interestingLong());
                    case 1 -> out.writeFixed64(field, rnd.nextLong());
                    case 2 -> out.writeFixed32(field, rnd.nextInt());
                    default -> {
                        byte[] v = rnd.nextInt(3) == 0 ? randomFields(rnd.nextInt(24)) : new byte[rnd.nextInt(24)];
                        if (v.length > 0 && v[0] == 0) {
                            rnd.nextBytes(v);
                        }
                        out.writeByteArray(field, v);
                    }
                }
            }
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bytes.toByteArray();
    }

    // ------------------------------------------------------------------ valid messages

    /** A message of {@code prototype}'s type with random field values. */
    Message validMessage(Message prototype) {
        return fill(prototype.newBuilderForType(), 0).build();
    }

    /**
     * A valid message padded with an unknown field (number 1000) to exactly {@code size} bytes:
     * parsable, and as large as wanted.
     */
    byte[] padded(Message prototype, int size) {
        int tag = CodedOutputStream.computeTagSize(1000);
        byte[] base = validMessage(prototype).toByteArray();
        // a random message can itself be near or over the size (long random bytes fields):
        // draw again until one leaves room for the padding field
        for (int tries = 0; base.length + tag + CodedOutputStream.computeUInt32SizeNoTag(size) >= size; tries++) {
            if (tries == 1000) {
                throw new IllegalStateException("no " + prototype.getDescriptorForType().getName()
                    + " small enough to pad to " + size + " bytes");
            }
            base = validMessage(prototype).toByteArray();
        }
        int len = size - base.length - tag;
        while (len > 0 && tag + CodedOutputStream.computeUInt32SizeNoTag(len) + len + base.length > size) {
            len--;
        }
        byte[] out = Arrays.copyOf(base, base.length + tag + CodedOutputStream.computeUInt32SizeNoTag(len) + len);
        CodedOutputStream o = CodedOutputStream.newInstance(out, base.length, out.length - base.length);
        try {
            o.writeByteArray(1000, new byte[len]);
            o.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private Message.Builder fill(Message.Builder b, int depth) {
        Descriptor d = b.getDescriptorForType();
        for (OneofDescriptor o : d.getRealOneofs()) {
            if (rnd.nextInt(6) != 0) {
                FieldDescriptor f = o.getField(rnd.nextInt(o.getFieldCount()));
                b.setField(f, value(b, f, depth));
            }
        }
        for (FieldDescriptor f : d.getFields()) {
            if (f.getRealContainingOneof() != null) {
                continue;
            }
            if (f.isRepeated()) {
                int n = count(f);
                for (int i = 0; i < n; i++) {
                    b.addRepeatedField(f, value(b, f, depth));
                }
            } else if (rnd.nextInt(3) != 0) {
                b.setField(f, value(b, f, depth));
            }
        }
        return b;
    }

    /** How many elements a repeated field gets: a few, and now and then more than --max-txn-ops. */
    private int count(FieldDescriptor f) {
        boolean txnList = f.getName().equals("compare") || f.getName().equals("success")
                || f.getName().equals("failure");
        if (txnList && rnd.nextInt(60) == 0) {
            return maxTxnOps + 1;
        }
        return rnd.nextInt(4);
    }

    private Object value(Message.Builder parent, FieldDescriptor f, int depth) {
        String name = f.getName();
        return switch (f.getJavaType()) {
            case MESSAGE -> depth >= MAX_DEPTH
                    ? parent.newBuilderForField(f).build()
                    : fill(parent.newBuilderForField(f), depth + 1).build();
            case ENUM -> f.getEnumType().findValueByNumberCreatingIfUnknown(
                    rnd.nextInt(8) == 0 ? rnd.nextInt() : rnd.nextInt(7) - 1);
            case BYTE_STRING -> switch (name) {
                case "range_end" -> rangeEnd();
                case "value" -> value();
                default -> key();
            };
            case STRING -> name.toLowerCase().contains("url") ? url() : string();
            case LONG -> longValue(name, f.getType() == FieldDescriptor.Type.UINT64);
            case INT -> rnd.nextInt(4) == 0 ? rnd.nextInt() : (int) interestingLong();
            case BOOLEAN -> rnd.nextBoolean();
            case FLOAT -> rnd.nextFloat();
            case DOUBLE -> rnd.nextDouble();
        };
    }

    private long longValue(String name, boolean unsigned) {
        String n = name.toLowerCase();
        if (n.contains("rev")) {
            return revision();
        }
        if (unsigned && (n.contains("id"))) {
            return memberId();
        }
        if (n.equals("id") || n.equals("lease")) {
            return leaseId();
        }
        if (n.equals("ttl")) {
            return pick(-1, 0, 1, 2, 3, 5, 60, 3600, 9_000_000_000L, 9_000_000_001L, Long.MAX_VALUE,
                    Long.MIN_VALUE, rnd.nextLong());
        }
        if (n.equals("limit")) {
            return pick(0, 1, 2, 3, -1, 10, 1000, Long.MAX_VALUE, Long.MIN_VALUE, rnd.nextLong());
        }
        if (n.equals("watch_id")) {
            return pick(0, 0, 1, 2, 3, -1, 100, Long.MAX_VALUE, Long.MIN_VALUE, rnd.nextLong());
        }
        return interestingLong();
    }

    private long interestingLong() {
        return pick(0, 1, -1, 2, 127, 128, 255, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE,
                Long.MIN_VALUE, rnd.nextLong(), rnd.nextInt(1000));
    }

    private long pick(long... values) {
        return values[rnd.nextInt(values.length)];
    }

    private long revision() {
        long cur = known.revision().getAsLong();
        return pick(0, 0, 1, -1, 2, cur, cur, cur - 1, cur + 1, cur / 2, cur + 1000, Long.MAX_VALUE, Long.MIN_VALUE,
                rnd.nextLong());
    }

    private long leaseId() {
        List<Long> ids = known.leaseIds().get();
        int r = rnd.nextInt(10);
        if (r < 4 && !ids.isEmpty()) {
            return ids.get(rnd.nextInt(ids.size()));
        }
        return r < 6 ? 0 : r < 8 ? 1 + rnd.nextInt(100) : interestingLong();
    }

    private long memberId() {
        List<Long> ids = known.memberIds().get();
        int r = rnd.nextInt(10);
        if (r < 5 && !ids.isEmpty()) {
            return ids.get(rnd.nextInt(ids.size()));
        }
        return r < 7 ? 0 : interestingLong();
    }

    /** A key: from a small pool (so requests meet), or random, never under {@link #PROTECTED}. */
    ByteString key() {
        int r = rnd.nextInt(10);
        if (r < 7) {
            return KEYS.get(rnd.nextInt(KEYS.size()));
        }
        if (r < 9) {
            byte[] b = new byte[1 + rnd.nextInt(16)];
            rnd.nextBytes(b);
            if (b[0] == 0) {
                b[0] = 'k';
            }
            return ByteString.copyFrom(b);
        }
        return bs("fz/long/" + "k".repeat(rnd.nextInt(3000)));
    }

    private ByteString rangeEnd() {
        int r = rnd.nextInt(6);
        return switch (r) {
            case 0, 1 -> ByteString.EMPTY;
            case 2 -> ZERO;
            default -> key();
        };
    }

    private ByteString value() {
        int r = rnd.nextInt(200);
        if (r == 0) {
            return ByteString.copyFrom(new byte[maxRequestBytes - 200 - rnd.nextInt(1000)]);
        }
        if (r == 1) {
            return ByteString.copyFrom(new byte[maxRequestBytes + rnd.nextInt(1000)]);
        }
        byte[] b = new byte[r < 20 ? 0 : r < 190 ? rnd.nextInt(64) : rnd.nextInt(8192)];
        rnd.nextBytes(b);
        return ByteString.copyFrom(b);
    }

    private String url() {
        List<String> urls = known.peerUrls();
        int r = rnd.nextInt(10);
        if (r < 6) {
            return urls.get(rnd.nextInt(urls.size()));
        }
        return switch (r) {
            case 6 -> urls.get(rnd.nextInt(urls.size()))
                    .replace("http://127.0.0.1", pickOne("https://127.0.0.1", "http://localhost", "http://127.0.0.2"));
            case 7 -> "unix://127.0.0.1:2380";
            case 8 -> "";
            default -> pickOne("127.0.0.1:2380", "http://127.0.0.1", "http://127.0.0.1:2380/path", "http://:2380",
                    "https://localhost:x", "%zz", "http://127.0.0.1:2380?q#f");
        };
    }

    @SafeVarargs
    private <T> T pickOne(T... values) {
        return values[rnd.nextInt(values.length)];
    }

    private String string() {
        int r = rnd.nextInt(4);
        if (r == 0) {
            return "";
        }
        if (r == 1) {
            return "root";
        }
        byte[] b = new byte[rnd.nextInt(20)];
        rnd.nextBytes(b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------ mutations

    /** One to three mutations of {@code b}: bit flips, truncation, insertions, duplication, wrong wire types. */
    byte[] mutate(byte[] b) {
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            b = mutateOnce(b);
        }
        return b;
    }

    private byte[] mutateOnce(byte[] b) {
        int pos = b.length == 0 ? 0 : rnd.nextInt(b.length);
        switch (rnd.nextInt(9)) {
            case 0 -> { // flip a bit
                if (b.length > 0) {
                    b = b.clone();
                    b[pos] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, pos); // truncate
            case 2 -> { // insert random bytes
                byte[] ins = new byte[1 + rnd.nextInt(4)];
                rnd.nextBytes(ins);
                b = splice(b, pos, ins);
            }
            case 3 -> { // duplicate a slice
                int len = b.length == 0 ? 0 : 1 + rnd.nextInt(b.length - pos);
                b = splice(b, pos, Arrays.copyOfRange(b, pos, pos + len));
            }
            case 4 -> { // wrong wire type (also the invalid ones, 6 and 7)
                if (b.length > 0) {
                    b = b.clone();
                    b[pos] = (byte) ((b[pos] & ~7) | rnd.nextInt(8));
                }
            }
            case 5 -> { // overwrite a byte
                if (b.length > 0) {
                    b = b.clone();
                    b[pos] = (byte) rnd.nextInt(256);
                }
            }
            case 6 -> b = concat(b, randomFields(1 + rnd.nextInt(24))); // extra fields
            case 7 -> { // a length or varint far too long
                byte[] huge = rnd.nextBoolean()
                        ? new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}
                        : new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
                                (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01};
                b = splice(b, pos, huge);
            }
            default -> b = concat(b, b); // the whole message twice (repeated fields double, others merge)
        }
        return b;
    }

    private static byte[] splice(byte[] b, int pos, byte[] ins) {
        byte[] out = new byte[b.length + ins.length];
        System.arraycopy(b, 0, out, 0, pos);
        System.arraycopy(ins, 0, out, pos, ins.length);
        System.arraycopy(b, pos, out, pos + ins.length, b.length - pos);
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
