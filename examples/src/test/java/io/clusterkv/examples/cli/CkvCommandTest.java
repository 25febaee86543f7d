package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class CkvCommandTest {

    private record Run(int code, String out, String err) {
    }

    private static Run ckv(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Ckv.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void compareRunsEveryPolicyFound() {
        Run r = ckv("compare", "--context=700", "--steps=2", "--head-dim=64", "--kv-heads=1", "--budgets=64,1024");
        assertEquals(0, r.code(), r.err());
        for (String p : new String[] {"full", "streaming", "oracle", "quest"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(p + " ")), p + " missing from\n" + r.out());
        }
    }

    @Test
    void policiesListsNamesAndConfigKeys() {
        Run r = ckv("policies");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("clusterkv.policy.streaming.sink = 4"), r.out());
        assertTrue(r.out().contains("clusterkv.policy.quest.page-size = 16"), r.out());
    }

    @Test
    void badInputGivesOneLineErrorsAndExitCodes() {
        Run zero = ckv("compare", "--budgets=64,0");
        assertEquals(2, zero.code());
        assertTrue(zero.err().contains("every budget must be >= 1, got 0"), zero.err());

        Run unknown = ckv("compare", "--context=600", "--steps=1", "--policies=nope");
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().startsWith("ckv: unknown policy 'nope'; policies found: "), unknown.err());
        assertFalse(unknown.err().contains("\tat "), "no stack trace by default");

        Run badSet = ckv("compare", "--context=600", "--steps=1", "--set", "quest.page-size=0");
        assertEquals(1, badSet.code());
        assertTrue(badSet.err().contains("clusterkv.policy.quest.page-size"), badSet.err());

        assertEquals(2, ckv("frobnicate").code());
        assertEquals(2, ckv("compare", "--context=abc").code());
    }
}
