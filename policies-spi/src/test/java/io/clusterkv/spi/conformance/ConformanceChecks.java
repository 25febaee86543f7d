package io.clusterkv.spi.conformance;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The checks the conformance kit applies to every selection; usable on their own from any test
 * framework. Each failure is an {@link AssertionError} whose message says where and what.
 */
public final class ConformanceChecks {

    private ConformanceChecks() {
    }

    /**
     * Remembers the longest position list seen for every (unit id, version), so that a unit whose
     * membership changes without a new version (which would let a device-tier cache serve stale rows)
     * is caught. Every selection of a unit must be a prefix of one fixed list (all of it, or the first
     * k positions when the budget truncates it).
     */
    public static final class UnitLedger {
        private final Map<Long, Map<Integer, int[]>> members = new HashMap<>();

        /** An empty ledger, for one run. */
        public UnitLedger() {
        }

        void record(long unitId, int version, int[] positions, String where) {
            Map<Integer, int[]> versions = members.computeIfAbsent(unitId, k -> new HashMap<>());
            int[] earlier = versions.get(version);
            if (earlier == null) {
                versions.put(version, positions);
                return;
            }
            int common = Math.min(earlier.length, positions.length);
            if (!Arrays.equals(earlier, 0, common, positions, 0, common)) {
                throw new AssertionError(where + ": unit " + unitId + " version " + version
                        + " changed membership without a new version: " + Arrays.toString(earlier) + " then "
                        + Arrays.toString(positions));
            }
            if (positions.length > earlier.length) {
                versions.put(version, positions);
            }
        }
    }

    /**
     * Checks one step's selection.
     *
     * @param sel            the selection, after {@code select}
     * @param alwaysAttended positions the policy declares always attended
     * @param ledger         unit memberships seen so far in this run
     * @param where          context for messages
     * @throws AssertionError on the first violation
     */
    public static void check(SelectionBuffer sel, int[] alwaysAttended, UnitLedger ledger, String where) {
        int n = sel.contextSize();
        for (int h = 0; h < sel.heads(); h++) {
            HeadSelectionBuffer s = sel.head(h);
            String at = where + " head=" + h;
            if (s.size() > sel.budget()) {
                throw new AssertionError(at + ": " + s.size() + " explicit positions exceed the budget " + sel.budget());
            }
            int window = s.windowStart();
            if (window != HeadSelectionBuffer.NO_WINDOW && (window < 0 || window > n)) {
                throw new AssertionError(at + ": window start " + window + " outside [0, " + n + "]");
            }
            BitSet seen = new BitSet(n);
            for (int i = 0; i < s.size(); i++) {
                int p = s.position(i);
                if (p < 0 || p >= n) {
                    throw new AssertionError(at + ": position " + p + " outside [0, " + n + ")");
                }
                if (seen.get(p)) {
                    throw new AssertionError(at + ": position " + p + " selected twice");
                }
                if (p >= window) {
                    throw new AssertionError(at + ": position " + p + " is also inside the window from " + window);
                }
                seen.set(p);
            }
            if (window != HeadSelectionBuffer.NO_WINDOW) {
                seen.set(window, n);
            }
            for (int p : alwaysAttended) {
                if (!seen.get(p)) {
                    throw new AssertionError(at + ": always-attended position " + p + " is missing");
                }
            }
            if (n <= sel.budget() && seen.cardinality() != n) {
                throw new AssertionError(at + ": context " + n + " fits the budget " + sel.budget() + " but only "
                        + seen.cardinality() + " positions are attended");
            }
            checkUnits(s, ledger, at);
        }
    }

    private static void checkUnits(HeadSelectionBuffer s, UnitLedger ledger, String at) {
        int expectedStart = 0;
        for (int u = 0; u < s.unitCount(); u++) {
            if (s.unitStart(u) != expectedStart || s.unitEnd(u) < s.unitStart(u)) {
                throw new AssertionError(at + ": unit " + u + " spans [" + s.unitStart(u) + ", " + s.unitEnd(u)
                        + ") but should start at " + expectedStart);
            }
            expectedStart = s.unitEnd(u);
            long id = s.unitId(u);
            if (id < 0 && id != HeadSelectionBuffer.NO_UNIT) {
                throw new AssertionError(at + ": negative unit id " + id);
            }
            if (id != HeadSelectionBuffer.NO_UNIT) {
                int[] members = new int[s.unitEnd(u) - s.unitStart(u)];
                for (int i = 0; i < members.length; i++) {
                    members[i] = s.position(s.unitStart(u) + i);
                }
                ledger.record(id, s.unitVersion(u), members, at);
            }
        }
        if (expectedStart != s.size()) {
            throw new AssertionError(at + ": units cover " + expectedStart + " of " + s.size() + " positions");
        }
    }
}
