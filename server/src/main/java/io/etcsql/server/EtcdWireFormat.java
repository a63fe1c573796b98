package io.etcsql.server;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;

/**
 * What etcd's decoder (gogoproto's generated code) refuses and protobuf-java lets through: a
 * varint longer than ten bytes (protobuf-java reads its end as another field), a length past 32
 * bits (protobuf-java reads only its low 32), a tag whose field
 * number is not positive as an int32 or that protobuf-java, which keeps only a tag's low 32
 * bits, would read as another field, and a known field sent with another wire type
 * (protobuf-java keeps it as an unknown field, as if it were not set). Either way etcd answers
 * that the request does not unmarshal, and does not execute it.
 */
final class EtcdWireFormat {
  private EtcdWireFormat() {}

  /** Thrown with gogoproto's text for what it refuses. */
  private static final class Refused extends Exception {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  /** Why etcd would not unmarshal {@code bytes} as a {@code type}, or null if it would. */
  static String refusal(byte[] bytes, Descriptor type) {
    try {
      check(bytes, 0, bytes.length, type);
      return null;
    } catch (Refused e) {
      return e.getMessage();
    }
  }

  private static void check(byte[] b, int from, int to, Descriptor type) throws Refused {
    int[] pos = {from};
    while (pos[0] < to) {
      long tag = varint(b, pos, to);
      int number = (int) (tag >>> 3); // gogoproto's int32(wire >> 3)
      if (number <= 0 || tag >>> 32 != 0 && (type.findFieldByNumber(number) != null
          || type.findFieldByNumber((int) tag >>> 3) != null)) {
        // (past 32 bits protobuf-java reads another field number: refused when either is a field)
        throw new Refused("proto: " + type.getName() + ": illegal tag " + number + " (wire type " + tag + ")");
      }
      int wireType = (int) (tag & 7);
      FieldDescriptor field = type.findFieldByNumber(number);
      if (field != null && !fits(field, wireType)) {
        throw new Refused("proto: wrong wireType = " + wireType + " for field " + goName(field));
      }
      switch (wireType) {
        case WireFormat.WIRETYPE_VARINT -> varint(b, pos, to);
        case WireFormat.WIRETYPE_FIXED64 -> skip(pos, 8, to);
        case WireFormat.WIRETYPE_FIXED32 -> skip(pos, 4, to);
        case WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
          long len = varint(b, pos, to); // all 64 bits: protobuf-java keeps the low 32
          if (len < 0) {
            throw new Refused("proto: negative length found during unmarshaling");
          }
          if (len > to - pos[0]) {
            throw new Refused("unexpected EOF");
          }
          int start = pos[0];
          skip(pos, (int) len, to);
          if (field != null && field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            check(b, start, start + (int) len, field.getMessageType());
          } else if (field != null && field.isRepeated()
              && field.getLiteType().getWireType() == WireFormat.WIRETYPE_VARINT) {
            int[] p = {start};
            while (p[0] < start + len) {
              varint(b, p, start + (int) len);
            }
          }
        }
        default -> {
          return; // groups and invalid wire types: protobuf-java decides
        }
      }
    }
  }

  /** The wire type a field is sent with; a repeated scalar may also come packed. */
  private static boolean fits(FieldDescriptor f, int wireType) {
    int expected = f.getLiteType().getWireType();
    return wireType == expected || (f.isRepeated() && f.getLiteType().isPackable()
        && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED);
  }

  /** The field's name in etcd's Go structs (its JSON name, capitalized: {@code range_end} -> RangeEnd). */
  private static String goName(FieldDescriptor f) {
    String json = f.getJsonName();
    return Character.toUpperCase(json.charAt(0)) + json.substring(1);
  }

  /** A varint of at most ten bytes (gogoproto's "integer overflow" past that). */
  private static long varint(byte[] b, int[] pos, int to) throws Refused {
    long value = 0;
    for (int shift = 0; ; shift += 7) {
      if (shift >= 64) {
        throw new Refused("proto: integer overflow");
      }
      if (pos[0] >= to) {
        throw new Refused("unexpected EOF");
      }
      byte x = b[pos[0]++];
      value |= (long) (x & 0x7f) << shift;
      if (x >= 0) {
        return value;
      }
    }
  }

  private static void skip(int[] pos, int n, int to) throws Refused {
    if (n > to - pos[0]) {
      throw new Refused("unexpected EOF");
    }
    pos[0] += n;
  }
}
