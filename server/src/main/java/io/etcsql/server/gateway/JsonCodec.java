package io.etcsql.server.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;

/**
 * Messages to and from JSON as etcd's gateway (grpc-gateway's {@code JSONPb{OrigName: true}})
 * writes and reads them: proto field names, 64-bit integers as strings, bytes in base64, enums by
 * name, default values left out; on input both the proto and the JSON names, numbers or strings,
 * enum names or numbers, and unknown fields ignored. Input errors carry Go's texts.
 */
final class JsonCodec {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  /** A request body grpc-gateway would refuse, with its message. */
  static final class BadInput extends Exception {
    BadInput(String message) {
      super(message, null, false, false);
    }
  }

  private JsonCodec() {}

  static String print(MessageOrBuilder m) {
    try {
      return PRINTER.print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + m.getClass().getSimpleName(), e);
    }
  }

  /** A JSON string literal (with Go's escapes of {@code < > &}). */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /**
   * Merges the JSON value {@code json} (one whole value, already checked by {@link GoJson}) into
   * {@code into}.
   *
   * @throws BadInput with grpc-gateway's message
   */
  static void merge(String json, Message.Builder into) throws BadInput {
    JsonNode tree;
    try {
      tree = MAPPER.readTree(json);
    } catch (IOException e) {
      throw new BadInput(e.getMessage()); // GoJson accepted it: not expected
    }
    if (tree == null || tree.isNull()) {
      return;
    }
    if (!tree.isObject()) {
      throw new BadInput("json: cannot unmarshal " + goKind(tree) + " into Go value of type map[string]json.RawMessage");
    }
    // first what Go refuses and protobuf-java's parser would take (unknown enum names) or word
    // differently
    String go = goError(into.getDescriptorForType(), tree);
    if (go != null) {
      throw new BadInput(go);
    }
    try {
      PARSER.merge(json, into);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new BadInput(e.getMessage());
    }
  }

  private static String goKind(JsonNode n) {
    if (n.isArray()) {
      return "array";
    }
    if (n.isTextual()) {
      return "string";
    }
    if (n.isBoolean()) {
      return "bool";
    }
    return n.isNumber() ? "number" : "object";
  }

  /** Go's message for the first bytes or enum value in {@code tree} that Go would refuse. */
  private static String goError(Descriptor type, JsonNode tree) {
    for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      FieldDescriptor f = type.findFieldByName(e.getKey());
      if (f == null) {
        f = type.getFields().stream().filter(x -> x.getJsonName().equals(e.getKey())).findFirst().orElse(null);
      }
      if (f == null || e.getValue().isNull()) {
        continue;
      }
      for (JsonNode v : f.isRepeated() && e.getValue().isArray() ? e.getValue() : java.util.List.of(e.getValue())) {
        String err = switch (f.getJavaType()) {
          case BYTE_STRING -> v.isTextual() ? base64Error(v.asText()) : mismatch(v, "[]uint8");
          case BOOLEAN -> v.isBoolean() ? null : mismatch(v, "bool");
          case STRING -> v.isTextual() ? null : mismatch(v, "string");
          case ENUM -> v.isTextual() && f.getEnumType().findValueByName(v.asText()) == null
              ? "unknown value " + quote(v.asText()) + " for enum " + goName(f.getEnumType()) : null;
          case MESSAGE -> v.isObject() ? goError(f.getMessageType(), v) : null;
          case INT, LONG -> integerError(f, v);
          default -> null;
        };
        if (err != null) {
          return err;
        }
      }
    }
    return null;
  }

  private static String mismatch(JsonNode v, String goType) {
    return v.isNull() ? null : "json: cannot unmarshal " + goKind(v) + " into Go value of type " + goType;
  }

  /**
   * Go's error for an integer field's value: jsonpb reads a quoted integer by decoding the text
   * between the quotes as JSON, so {@code "x"} fails as {@code invalid character 'x' ...}.
   */
  private static String integerError(FieldDescriptor f, JsonNode v) {
    String goType = switch (f.getType()) {
      case UINT64, FIXED64 -> "uint64";
      case UINT32, FIXED32 -> "uint32";
      case INT32, SINT32, SFIXED32 -> "int32";
      default -> "int64";
    };
    String text;
    if (v.isTextual()) {
      text = v.asText();
      try {
        int end = GoJson.valueEnd(text, 0);
        if (end < 0) {
          return "unexpected end of JSON input";
        }
        if (GoJson.skipSpace(text, end) < text.length()) {
          return "invalid character " + GoJson.quoteChar(text.charAt(GoJson.skipSpace(text, end)))
              + " after top-level value";
        }
      } catch (GoJson.SyntaxException e) {
        return e.getMessage().equals("unexpected EOF") ? "unexpected end of JSON input" : e.getMessage();
      }
    } else if (v.isNumber()) {
      text = v.toString();
    } else {
      return "json: cannot unmarshal " + goKind(v) + " into Go value of type " + goType;
    }
    text = text.trim();
    boolean integral = text.matches("-?(0|[1-9][0-9]*)");
    if (!integral) {
      return text.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?")
          ? "json: cannot unmarshal number " + text + " into Go value of type " + goType
          : "json: cannot unmarshal " + goKindOf(text) + " into Go value of type " + goType;
    }
    try {
      java.math.BigInteger n = new java.math.BigInteger(text);
      java.math.BigInteger min = goType.startsWith("u") ? java.math.BigInteger.ZERO
          : java.math.BigInteger.ONE.shiftLeft(goType.endsWith("64") ? 63 : 31).negate();
      java.math.BigInteger max = java.math.BigInteger.ONE.shiftLeft(
          (goType.endsWith("64") ? 64 : 32) - (goType.startsWith("u") ? 0 : 1)).subtract(java.math.BigInteger.ONE);
      if (n.compareTo(min) < 0 || n.compareTo(max) > 0) {
        return "json: cannot unmarshal number " + text + " into Go value of type " + goType;
      }
    } catch (NumberFormatException e) {
      return null;
    }
    return null;
  }

  private static String goKindOf(String json) {
    try {
      return goKind(MAPPER.readTree(json));
    } catch (IOException e) {
      return "string";
    }
  }

  /** Go's name of an enum type: {@code etcdserverpb.RangeRequest_SortOrder}. */
  private static String goName(EnumDescriptor e) {
    String pkg = e.getFile().getPackage();
    String rest = e.getFullName().substring(pkg.isEmpty() ? 0 : pkg.length() + 1);
    return (pkg.isEmpty() ? "" : pkg + ".") + rest.replace('.', '_');
  }

  /** Go's {@code base64.StdEncoding} error for {@code s}, or null if it decodes. */
  static String base64Error(String s) {
    int j = 0; // characters in the current quantum
    int i = 0;
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\r' || c == '\n') {
        continue;
      }
      if (c == '=') {
        if (j < 2) {
          return corrupt(i);
        }
        int k = i + 1;
        while (k < s.length() && (s.charAt(k) == '\r' || s.charAt(k) == '\n')) {
          k++;
        }
        if (j == 2) {
          if (k >= s.length() || s.charAt(k) != '=') {
            return corrupt(k >= s.length() ? s.length() : k - 1);
          }
          k++;
          while (k < s.length() && (s.charAt(k) == '\r' || s.charAt(k) == '\n')) {
            k++;
          }
        }
        return k < s.length() ? corrupt(k) : null;
      }
      boolean valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
      if (!valid) {
        return corrupt(i);
      }
      j = (j + 1) % 4;
    }
    return j == 0 ? null : corrupt(s.length() - j);
  }

  private static String corrupt(int offset) {
    return "illegal base64 data at input byte " + offset;
  }
}
