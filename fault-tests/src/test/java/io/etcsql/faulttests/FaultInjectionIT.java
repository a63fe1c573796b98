package io.etcsql.faulttests;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault injection against real bin/etcsql processes. Without properties: the short CI profile (two runs of each
 * fault kind, round robin, 6 s each, 3 members; no new run starts after 180 s: time for every kind once and some twice). The long profile sets fault.runs / fault.seconds /
 * fault.members (see fault-tests/README.md).
 */
class FaultInjectionIT {

    @Test
    void faultsDoNotLoseWritesOrBreakLinearizability() throws Exception {
        FaultProfile.Settings s = FaultProfile.Settings.fromSystemProperties();
        FaultProfile.Summary sum = FaultProfile.run(s);
        assertTrue(!sum.outcomes().isEmpty(), "no run was made");
        assertEquals(0, sum.violations(), "violations found (reports in " + s.reports() + "):\n" + sum.text());
    }
}
