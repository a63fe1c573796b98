package io.etcsql.server.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import org.junit.jupiter.api.Test;

/** The JSON of etcd's gateway, with the messages Go gives for what it refuses (checked against etcd 3.4.23). */
class JsonCodecTest {
  private static String refusal(String json, com.google.protobuf.Message.Builder b) {
    try {
      int end = GoJson.valueEnd(json, 0);
      JsonCodec.merge(json.substring(0, end), b);
      return null;
    } catch (GoJson.SyntaxException | JsonCodec.BadInput e) {
      return e.getMessage();
    }
  }

  @Test
  void printsProtoNamesInt64AsStringsAndLeavesDefaultsOut() {
    ResponseHeader h = ResponseHeader.newBuilder().setClusterId(-1).setMemberId(7).setRevision(2).build();
    assertEquals("{\"cluster_id\":\"18446744073709551615\",\"member_id\":\"7\",\"revision\":\"2\"}", JsonCodec.print(h));
  }

  @Test
  void readsBothNamesStringsOrNumbersAndEnumNamesOrNumbers() throws Exception {
    RangeRequest.Builder b = RangeRequest.newBuilder();
    JsonCodec.merge("{\"key\":\"Zm9v\",\"rangeEnd\":\"Zm9w\",\"limit\":\"5\",\"revision\":3,\"sort_order\":\"DESCEND\","
        + "\"sortTarget\":2,\"whatever\":{\"x\":[1]}}", b);
    RangeRequest r = b.build();
    assertEquals(ByteString.copyFromUtf8("foo"), r.getKey());
    assertEquals(ByteString.copyFromUtf8("fop"), r.getRangeEnd());
    assertEquals(5, r.getLimit());
    assertEquals(3, r.getRevision());
    assertEquals(RangeRequest.SortOrder.DESCEND, r.getSortOrder());
    assertEquals(RangeRequest.SortTarget.CREATE, r.getSortTarget());
  }

  @Test
  void refusesWithGosMessages() {
    assertEquals("invalid character 'b' looking for beginning of object key string", refusal("{bad", RangeRequest.newBuilder()));
    assertEquals("unexpected EOF", refusal("{\"key\":\"Zm9v\"", RangeRequest.newBuilder()));
    assertEquals("invalid character '\"' after object key", refusal("{\"key\" \"a\"}", RangeRequest.newBuilder()));
    assertEquals("invalid character '\"' after object key:value pair", refusal("{\"key\":\"a\" \"b\"}", RangeRequest.newBuilder()));
    assertEquals("json: cannot unmarshal string into Go value of type map[string]json.RawMessage",
        refusal("\"str\"", RangeRequest.newBuilder()));
    assertEquals("illegal base64 data at input byte 4", refusal("{\"key\":\"Zm9vY\"}", RangeRequest.newBuilder()));
    assertEquals("json: cannot unmarshal number into Go value of type []uint8", refusal("{\"key\":5}", RangeRequest.newBuilder()));
    assertEquals("invalid character '6' after top-level value", refusal("{\"limit\":\"5 6\"}", RangeRequest.newBuilder()));
    assertEquals("unexpected end of JSON input", refusal("{\"limit\":\"\"}", RangeRequest.newBuilder()));
    assertEquals("json: cannot unmarshal number 99999999999999999999 into Go value of type int64",
        refusal("{\"limit\":\"99999999999999999999\"}", RangeRequest.newBuilder()));
    assertEquals("unknown value \"NOPE\" for enum etcdserverpb.WatchCreateRequest_FilterType",
        refusal("{\"create_request\":{\"filters\":[\"NOPE\"]}}", WatchRequest.newBuilder()));
  }

  @Test
  void base64AsGosStdEncoding() {
    assertNull(JsonCodec.base64Error("Zg=="));
    assertNull(JsonCodec.base64Error(""));
    assertEquals("illegal base64 data at input byte 0", JsonCodec.base64Error("Zm9"));
    assertEquals("illegal base64 data at input byte 2", JsonCodec.base64Error("Zm=v"));
    assertEquals("illegal base64 data at input byte 3", JsonCodec.base64Error("Zg="));
    assertEquals("illegal base64 data at input byte 1", JsonCodec.base64Error("Z-9v"));
  }

  @Test
  void valuesFollowOneAnother() throws Exception {
    String body = " {\"a\":1} {\"b\":[true,null]}  ";
    int first = GoJson.valueEnd(body, 0);
    assertEquals(8, first);
    int second = GoJson.valueEnd(body, first);
    assertEquals(body.lastIndexOf('}') + 1, second);
    assertEquals(-1, GoJson.valueEnd(body, second));
    assertThrows(GoJson.SyntaxException.class, () -> GoJson.valueEnd("{\"a\":tru}", 0));
  }
}
