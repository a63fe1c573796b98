package io.etcsql.sqlfrontend;

import io.etcsql.grpcapi.etcdserverpb.LeaseStatus;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.grpc.Status;
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

/** Table {@code leases}: the live leases (LeaseLeases, then LeaseTimeToLive with keys for each). */
final class LeasesTable extends AbstractTable implements ScannableTable {
  private final EtcdClient etcd;

  LeasesTable(EtcdClient etcd) {
    this.etcd = etcd;
  }

  @Override
  public RelDataType getRowType(RelDataTypeFactory f) {
    return f.builder()
        .add("id", SqlTypeName.BIGINT)
        .add("granted_ttl", SqlTypeName.BIGINT)
        .add("remaining_ttl", SqlTypeName.BIGINT)
        .add("keys", SqlTypeName.BIGINT)
        .build();
  }

  @Override
  public Enumerable<Object[]> scan(DataContext root) {
    List<Object[]> rows = new ArrayList<>();
    for (LeaseStatus l : Errors.call(etcd::leases, 0, etcd).getLeasesList()) {
      LeaseTimeToLiveResponse t;
      try {
        t = Errors.call(() -> etcd.timeToLive(l.getID(), true), 0, etcd);
      } catch (Errors.EtcdApiException e) {
        if (e.code == Status.Code.NOT_FOUND) {
          continue; // expired or revoked since it was listed
        }
        throw e;
      }
      if (t.getTTL() == -1) {
        continue; // etcd answers TTL -1 for a lease that no longer exists
      }
      rows.add(new Object[] {l.getID(), t.getGrantedTTL(), t.getTTL(), (long) t.getKeysCount()});
    }
    return Linq4j.asEnumerable(rows);
  }
}
