package io.etcsql.sqlfrontend;

import com.google.common.collect.ImmutableMultimap;
import com.google.common.collect.Multimap;
import java.util.List;
import java.util.Map;
import org.apache.calcite.adapter.java.JavaTypeFactory;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.apache.calcite.schema.Function;
import org.apache.calcite.schema.FunctionParameter;
import org.apache.calcite.schema.Table;
import org.apache.calcite.schema.TableMacro;
import org.apache.calcite.schema.TranslatableTable;
import org.apache.calcite.schema.impl.AbstractSchema;
import org.apache.calcite.sql.type.SqlTypeName;

/**
 * The schema {@code etcd}: tables {@code kv}, {@code revisions}, {@code leases}, {@code members}, and the table
 * functions {@code kv_at(1234)}, the keyspace as of a revision, and
 * {@code kv_as_of('2026-12-06 10:00:00')}, as of a moment (UTC).
 */
public final class EtcdSchema extends AbstractSchema {
  private final EtcdClient etcd;

  public EtcdSchema(EtcdClient etcd) {
    this.etcd = etcd;
  }

  @Override
  protected Map<String, Table> getTableMap() {
    return Map.of(
        "kv", new KvTable(etcd, 0),
        "revisions", new RevisionsTable(etcd),
        "leases", new LeasesTable(etcd),
        "members", new MembersTable(etcd));
  }

  @Override
  protected Multimap<String, Function> getFunctionMultimap() {
    return ImmutableMultimap.of("kv_at", new KvAt(), "kv_as_of", new KvAsOf());
  }

  /** {@code kv_at(revision)}: table {@code kv} as of a revision, with the same pushdown. */
  private final class KvAt implements TableMacro {
    @Override
    public TranslatableTable apply(List<? extends Object> arguments) {
      Object rev = arguments.get(0);
      if (!(rev instanceof Number n) || n.longValue() <= 0) {
        throw new IllegalArgumentException("kv_at(revision): the revision must be a positive number, got " + rev);
      }
      return new KvTable(etcd, n.longValue());
    }

    @Override
    public List<FunctionParameter> getParameters() {
      return List.of(parameter("revision", Long.class, SqlTypeName.BIGINT));
    }
  }

  private static FunctionParameter parameter(String name, Class<?> javaType, SqlTypeName sqlType) {
    return new FunctionParameter() {
      @Override
      public int getOrdinal() {
        return 0;
      }

      @Override
      public String getName() {
        return name;
      }

      @Override
      public RelDataType getType(RelDataTypeFactory typeFactory) {
        // a Java type: Calcite converts a literal argument of a table macro only to one
        return typeFactory instanceof JavaTypeFactory j ? j.createType(javaType) : typeFactory.createSqlType(sqlType);
      }

      @Override
      public boolean isOptional() {
        return false;
      }
    };
  }

  /**
   * {@code kv_as_of('2026-12-06 10:00:00')}: table {@code kv} as of a moment, at the newest
   * revision committed by then, found with etcsql's History service from the commit times it
   * keeps. The moment is text: {@code yyyy-MM-dd HH:mm:ss[.SSS]} in UTC, or ISO-8601 with an
   * offset ({@code 2026-12-06T11:00:00+01:00}). Over a plain etcd, which keeps no commit times,
   * it is an error.
   */
  private final class KvAsOf implements TableMacro {
    @Override
    public TranslatableTable apply(List<? extends Object> arguments) {
      long ms = parseMoment(String.valueOf(arguments.get(0)));
      io.etcsql.grpcapi.etcsqlpb.RevisionAtResponse r = Errors.call(() -> etcd.revisionAt(ms), 0, etcd);
      if (r == null) {
        throw new Errors.EtcdApiException("kv_as_of needs the commit times etcsql keeps; this server (a plain etcd?)"
            + " has none: use kv_at(revision)", io.grpc.Status.Code.UNIMPLEMENTED, null);
      }
      if (r.getRevision() == 0 && r.getCompactRevision() > 1) {
        throw new Errors.EtcdApiException("no revision still held was committed at or before "
            + java.time.Instant.ofEpochMilli(ms) + ": history before revision " + r.getCompactRevision()
            + " has been compacted", io.grpc.Status.Code.OUT_OF_RANGE, null);
      }
      return new KvTable(etcd, Math.max(1, r.getRevision()));
    }

    @Override
    public List<FunctionParameter> getParameters() {
      return List.of(parameter("moment", String.class, SqlTypeName.VARCHAR));
    }
  }

  /** Milliseconds since the epoch of a moment given as SQL timestamp text (UTC) or ISO-8601. */
  static long parseMoment(String text) {
    String t = text.trim();
    try {
      return java.time.OffsetDateTime.parse(t.replace(' ', 'T')).toInstant().toEpochMilli();
    } catch (java.time.format.DateTimeParseException withoutOffset) {
      try {
        return java.time.LocalDateTime.parse(t.replace(' ', 'T')).toInstant(java.time.ZoneOffset.UTC).toEpochMilli();
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException("kv_as_of: cannot read '" + text
            + "' as a moment; write 'yyyy-MM-dd HH:mm:ss' (UTC) or ISO-8601 with an offset");
      }
    }
  }
}
