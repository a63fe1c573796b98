package io.etcsql.sqlfrontend;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcdserverpb.StatusResponse;
import java.util.ArrayList;
import java.util.List;
import org.apache.calcite.DataContext;
import org.apache.calcite.linq4j.Enumerable;
import org.apache.calcite.linq4j.Linq4j;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.apache.calcite.schema.ScannableTable;
import org.apache.calcite.schema.impl.AbstractTable;
import org.apache.calcite.sql.type.SqlTypeName;

/**
 * Table {@code members}: the cluster's members (MemberList), with the leader as the member
 * answering Status sees it. Ids are shown in hex, as etcdctl prints them.
 */
final class MembersTable extends AbstractTable implements ScannableTable {
  private final EtcdClient etcd;

  MembersTable(EtcdClient etcd) {
    this.etcd = etcd;
  }

  @Override
  public RelDataType getRowType(RelDataTypeFactory f) {
    return f.builder()
        .add("id", SqlTypeName.VARCHAR)
        .add("name", SqlTypeName.VARCHAR)
        .add("peer_urls", SqlTypeName.VARCHAR)
        .add("client_urls", SqlTypeName.VARCHAR)
        .add("is_leader", SqlTypeName.BOOLEAN)
        .add("is_learner", SqlTypeName.BOOLEAN)
        .build();
  }

  @Override
  public Enumerable<Object[]> scan(DataContext root) {
    List<Member> members = Errors.call(etcd::members, 0, etcd).getMembersList();
    StatusResponse status = Errors.call(etcd::status, 0, etcd);
    List<Object[]> rows = new ArrayList<>();
    for (Member m : members) {
      rows.add(new Object[] {Long.toHexString(m.getID()), m.getName(), String.join(",", m.getPeerURLsList()),
          String.join(",", m.getClientURLsList()), m.getID() == status.getLeader(), m.getIsLearner()});
    }
    return Linq4j.asEnumerable(rows);
  }
}
