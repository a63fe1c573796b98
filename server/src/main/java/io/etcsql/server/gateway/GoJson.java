package io.etcsql.server.gateway;

/**
 * Finds where each JSON value of a request body ends, refusing malformed input with the message Go's
 * {@code encoding/json} decoder gives (grpc-gateway decodes request bodies with it, and etcd's
 * gateway answers with that text): {@code invalid character 'b' looking for beginning of object key
 * string}, {@code unexpected EOF}, ...
 */
final class GoJson {
  /** A body that is not JSON, with Go's message. */
  static final class SyntaxException extends Exception {
    SyntaxException(String message) {
      super(message, null, false, false);
    }
  }

  private final String s;
  private int pos;

  private GoJson(String s, int pos) {
    this.s = s;
    this.pos = pos;
  }

  /**
   * The end (exclusive) of the value that starts at {@code from} after optional white space, or -1
   * if only white space is left (Go's {@code io.EOF}).
   *
   * @throws SyntaxException if the value is malformed or cut short
   */
  static int valueEnd(String body, int from) throws SyntaxException {
    GoJson p = new GoJson(body, from);
    p.skipSpace();
    if (p.pos >= body.length()) {
      return -1;
    }
    p.value();
    return p.pos;
  }

  /** Index just past the white space at {@code from}. */
  static int skipSpace(String body, int from) {
    GoJson p = new GoJson(body, from);
    p.skipSpace();
    return p.pos;
  }

  private void skipSpace() {
    while (pos < s.length() && isSpace(s.charAt(pos))) {
      pos++;
    }
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  }

  private char next(String context) throws SyntaxException {
    skipSpace();
    return peek(context);
  }

  private char peek(String context) throws SyntaxException {
    if (pos >= s.length()) {
      throw new SyntaxException("unexpected EOF");
    }
    return s.charAt(pos);
  }

  private SyntaxException invalid(char c, String context) {
    return new SyntaxException("invalid character " + quoteChar(c) + " " + context);
  }

  private void value() throws SyntaxException {
    char c = next("looking for beginning of value");
    switch (c) {
      case '{' -> object();
      case '[' -> array();
      case '"' -> string();
      case 't' -> literal("true");
      case 'f' -> literal("false");
      case 'n' -> literal("null");
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          number();
        } else {
          throw invalid(c, "looking for beginning of value");
        }
      }
    }
  }

  private void object() throws SyntaxException {
    pos++; // {
    char c = next("");
    if (c == '}') {
      pos++;
      return;
    }
    while (true) {
      c = next("");
      if (c != '"') {
        throw invalid(c, "looking for beginning of object key string");
      }
      string();
      c = next("");
      if (c != ':') {
        throw invalid(c, "after object key");
      }
      pos++;
      value();
      c = next("");
      pos++;
      if (c == '}') {
        return;
      }
      if (c != ',') {
        throw invalid(c, "after object key:value pair");
      }
    }
  }

  private void array() throws SyntaxException {
    pos++; // [
    char c = next("");
    if (c == ']') {
      pos++;
      return;
    }
    while (true) {
      value();
      c = next("");
      pos++;
      if (c == ']') {
        return;
      }
      if (c != ',') {
        throw invalid(c, "after array element");
      }
    }
  }

  private void string() throws SyntaxException {
    pos++; // "
    while (true) {
      char c = peek("");
      pos++;
      if (c == '"') {
        return;
      }
      if (c == '\\') {
        char e = peek("");
        pos++;
        if (e == 'u') {
          for (int i = 0; i < 4; i++) {
            char h = peek("");
            pos++;
            if (Character.digit(h, 16) < 0) {
              throw invalid(h, "in \\u hexadecimal character escape");
            }
          }
        } else if ("bfnrt\\/\"".indexOf(e) < 0) {
          throw invalid(e, "in string escape code");
        }
      } else if (c < 0x20) {
        throw invalid(c, "in string literal");
      }
    }
  }

  private void literal(String word) throws SyntaxException {
    pos++;
    for (int i = 1; i < word.length(); i++) {
      char c = peek("");
      if (c != word.charAt(i)) {
        throw invalid(c, "in literal " + word + " (expecting " + quoteChar(word.charAt(i)) + ")");
      }
      pos++;
    }
  }

  private void number() throws SyntaxException {
    if (s.charAt(pos) == '-') {
      pos++;
      char c = peek("");
      if (c < '0' || c > '9') {
        throw invalid(c, "in numeric literal");
      }
    }
    if (s.charAt(pos) == '0') {
      pos++;
    } else {
      digits();
    }
    if (pos < s.length() && s.charAt(pos) == '.') {
      pos++;
      char c = peek("");
      if (c < '0' || c > '9') {
        throw invalid(c, "after decimal point in numeric literal");
      }
      digits();
    }
    if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
      pos++;
      char c = peek("");
      if (c == '+' || c == '-') {
        pos++;
        c = peek("");
      }
      if (c < '0' || c > '9') {
        throw invalid(c, "in exponent of numeric literal");
      }
      digits();
    }
  }

  private void digits() {
    while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
      pos++;
    }
  }

  /** Go's quoteChar: {@code 'x'}, {@code '\''}, {@code '"'}, {@code '\n'}, {@code '\x01'}. */
  static String quoteChar(char c) {
    if (c == '\'') {
      return "'\\''";
    }
    if (c == '"') {
      return "'\"'";
    }
    String q = switch (c) {
      case '\n' -> "\\n";
      case '\r' -> "\\r";
      case '\t' -> "\\t";
      case '\\' -> "\\\\";
      case '\u0007' -> "\\a";
      case '\b' -> "\\b";
      case '\f' -> "\\f";
      case '\u000b' -> "\\v";
      default -> c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c);
    };
    return "'" + q + "'";
  }
}
