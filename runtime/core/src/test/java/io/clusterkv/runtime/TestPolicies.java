package io.clusterkv.runtime;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Policies that misbehave on purpose, for the supervision and maintenance tests. */
final class TestPolicies {

    private TestPolicies() {
    }

    /** Attends the newest {@code budget} positions. */
    abstract static class Recent implements RecallPolicy {
        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            int from = Math.max(0, n - budget);
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).addRange(0, from, from, n);
            }
        }
    }

    /**
     * After the prompt, hands out one maintenance task whose {@code compute} waits for {@link #release}
     * (at most 30 s); {@code apply} counts in {@link #applied}.
     */
    static final class SlowMaintenance extends Recent {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger computed = new AtomicInteger();
        final AtomicInteger applied = new AtomicInteger();
        private boolean due;

        @Override
        public void onPrompt(KeyView keys) {
            due = true;
        }

        @Override
        public Optional<MaintenanceTask<?>> pollMaintenance(KeyView snapshot) {
            if (!due) {
                return Optional.empty();
            }
            due = false;
            return Optional.of(new MaintenanceTask<Integer>() {
                @Override
                public String description() {
                    return "wait for the test";
                }

                @Override
                public Integer compute() {
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return computed.incrementAndGet();
                }

                @Override
                public void apply(Integer result) {
                    applied.incrementAndGet();
                }
            });
        }
    }

    /** Throws from {@code select} at every step. */
    static final class ThrowingSelect extends Recent {
        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            throw new IllegalStateException("boom from a test policy");
        }
    }

    /**
     * Whole 16-position pages as units (id = page, version 0, never truncated): a rotating run of
     * {@code budget / 16} full pages, so that consecutive steps share most pages (hits) and drop and take
     * one (misses).
     */
    static final class RotatingPages implements RecallPolicy {
        static final int PAGE = 16;
        private int step;

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int pages = keys.size() / PAGE;
            int take = Math.min(budget / PAGE, pages);
            int first = step++ % Math.max(1, pages);
            for (int h = 0; h < out.heads(); h++) {
                for (int i = 0; i < take; i++) {
                    int page = (first + i) % pages;
                    out.head(h).addRange(page, 0, page * PAGE, page * PAGE + PAGE);
                }
                if (pages * PAGE < keys.size()) {
                    out.head(h).attendFrom(pages * PAGE); // the newest, partial page as the window
                }
            }
        }
    }

    /** A provider that hands out one given instance per {@code create} call from a factory. */
    record Provider(String name, java.util.function.Supplier<RecallPolicy> factory) implements RecallPolicyProvider {
        @Override
        public String description() {
            return "test policy " + name;
        }

        @Override
        public List<ConfigKey> configKeys() {
            return List.of();
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            return factory.get();
        }
    }
}
