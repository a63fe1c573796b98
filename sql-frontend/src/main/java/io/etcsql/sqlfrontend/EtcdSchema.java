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
 * function {@code kv_at(revision)} (the keyspace as of a revision).
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
    return ImmutableMultimap.of("kv_at", new KvAt());
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
      return List.of(new FunctionParameter() {
        @Override
        public int getOrdinal() {
          return 0;
        }

        @Override
        public String getName() {
          return "revision";
        }

        @Override
        public RelDataType getType(RelDataTypeFactory typeFactory) {
          // a Java type: Calcite converts a literal argument of a table macro only to one
          return typeFactory instanceof JavaTypeFactory j ? j.createType(Long.class)
              : typeFactory.createSqlType(SqlTypeName.BIGINT);
        }

        @Override
        public boolean isOptional() {
          return false;
        }
      });
    }
  }
}
