package io.etcsql.kvstore;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etcsql.grpcapi.etcdserverpb.AlarmMember;
import io.etcsql.grpcapi.etcdserverpb.AlarmRequest;
import io.etcsql.grpcapi.etcdserverpb.AlarmResponse;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.backend.MetaStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's alarm store ({@code etcdserver/api/v3alarm}) and its capped applier: the active alarms,
 * each a (member id, alarm type), persisted in the {@link MetaStore} and changed only by applying
 * a replicated {@code AlarmRequest}, so every member has the same alarms at the same index.
 *
 * <p>While a NOSPACE alarm is active, as etcd's {@code applierV3Capped}: Put, a Txn whose larger
 * branch has puts, and LeaseGrant fail with {@link EtcdError#NO_SPACE}; reads, deletes,
 * compaction, lease revocation and alarm requests still apply.
 */
public final class Alarms {
  private static final Logger LOG = LoggerFactory.getLogger(Alarms.class);
  private static final Comparator<AlarmMember> ORDER = Comparator
      .comparingInt((AlarmMember m) -> m.getAlarmValue())
      .thenComparing(AlarmMember::getMemberID, Long::compareUnsigned);

  private final MetaStore meta;

  public Alarms(MetaStore meta) {
    this.meta = meta;
  }

  /** The active alarms of type {@code type} ({@code NONE}: all), by type then member id. */
  public List<AlarmMember> list(AlarmType type) {
    return list(type.getNumber());
  }

  /**
   * The active alarms whose type has the number {@code type} ({@code NONE}'s 0: all). Numbers
   * count, not enum constants: as in etcd, a type this version does not know is stored and
   * listed as its number.
   */
  private List<AlarmMember> list(int type) {
    List<AlarmMember> out = new ArrayList<>();
    for (AlarmMember m : stored()) {
      if (type == AlarmType.NONE_VALUE || m.getAlarmValue() == type) {
        out.add(m);
      }
    }
    return out;
  }

  /** True while some member's NOSPACE alarm is active. */
  public boolean noSpace() {
    return !list(AlarmType.NOSPACE).isEmpty();
  }

  /**
   * Applies an alarm request as etcd's {@code applierV3backend.Alarm}: GET lists, ACTIVATE adds
   * (answering the alarm, new or already active), DEACTIVATE removes (answering the removed alarm,
   * or nothing if it was not active); an unknown action answers nothing. Alarm types go by number,
   * so an unknown one is stored as etcd stores it (never an exception here: it would stop the
   * state machine on every member). Apply thread only.
   */
  AlarmResponse apply(AlarmRequest r) {
    AlarmResponse.Builder resp = AlarmResponse.newBuilder();
    List<AlarmMember> all = new ArrayList<>(stored());
    AlarmMember m = AlarmMember.newBuilder().setMemberID(r.getMemberID()).setAlarmValue(r.getAlarmValue()).build();
    switch (r.getAction()) {
      case GET -> resp.addAllAlarms(list(r.getAlarmValue()));
      case ACTIVATE -> {
        if (r.getAlarmValue() == AlarmType.NONE_VALUE) {
          break; // etcd stores nothing useful for NONE either; keep the set clean
        }
        if (!all.contains(m)) {
          all.add(m);
          store(all);
          LOG.warn("alarm {} raised by member {}", m.getAlarm(), Long.toHexString(m.getMemberID()));
        }
        resp.addAlarms(m);
      }
      case DEACTIVATE -> {
        if (all.remove(m)) {
          store(all);
          resp.addAlarms(m);
          LOG.warn("alarm {} of member {} disarmed", m.getAlarm(), Long.toHexString(m.getMemberID()));
        }
      }
      default -> { }
    }
    return resp.build();
  }

  /**
   * Throws {@link EtcdError#NO_SPACE} if the command would add data while NOSPACE is active
   * (etcd's capped applier).
   */
  void checkCapped(ReplicatedCommand cmd) {
    boolean adds = switch (cmd.getRequestCase()) {
      case PUT, LEASE_GRANT -> true;
      case TXN -> putCost(cmd.getTxn()) > 0;
      default -> false;
    };
    if (adds && noSpace()) {
      throw EtcdError.NO_SPACE.exception();
    }
  }

  /**
   * etcd's quota cost of a txn: the bigger of its two branches' put costs (256 bytes of overhead
   * plus key and value per put; nested txns are not counted, as in etcd).
   */
  public static long putCost(TxnRequest t) {
    return Math.max(branchCost(t.getSuccessList()), branchCost(t.getFailureList()));
  }

  private static long branchCost(List<RequestOp> ops) {
    long cost = 0;
    for (RequestOp op : ops) {
      if (op.hasRequestPut()) {
        cost += QuotaCost.KV_OVERHEAD + op.getRequestPut().getKey().size() + op.getRequestPut().getValue().size();
      }
    }
    return cost;
  }

  private List<AlarmMember> stored() {
    byte[] enc = meta.alarms();
    if (enc == null) {
      return List.of();
    }
    try {
      return AlarmResponse.parseFrom(enc).getAlarmsList();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt alarm record in the meta store", e);
    }
  }

  private void store(List<AlarmMember> all) {
    all.sort(ORDER);
    meta.setAlarms(all.isEmpty() ? null : AlarmResponse.newBuilder().addAllAlarms(all).build().toByteArray());
  }
}
