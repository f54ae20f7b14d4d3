package m6j.parallel;

import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Two ranks in one JVM on real Gloo groups over loopback. A barrier is not a collective: a rank waits there for a
 * leader busy longer than the collective timeout (writing a checkpoint, training the tokenizer), and collectives
 * still work afterwards; a rank that never comes is named when the barrier's own timeout runs out.
 */
class GroupsTest {
    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }

    @Test void aBarrierOutlastsTheCollectiveTimeoutAndNamesAMissingRank() throws Exception {
        Torch.init();
        int port = freePort();
        Groups.Timeouts t = new Groups.Timeouts(20_000, 800, 6_000);
        Strategy two = new Strategy(2, 1);
        CompletableFuture<Groups> r1 = CompletableFuture.supplyAsync(() -> new Groups(new DistEnv("127.0.0.1", port, 1, 2, 1, false), two, t));
        Groups g0 = new Groups(new DistEnv("127.0.0.1", port, 0, 2, 0, false), two, t);
        Groups g1 = r1.get(30, TimeUnit.SECONDS);
        try {
            CompletableFuture<Double> waiting = CompletableFuture.supplyAsync(() -> {
                g1.barrier();                                          // waits for the busy leader
                Tensor x = Tensors.floats(new float[]{2}, 1);
                g1.allreduce(g1.world, x, ReduceOp.RedOpType.SUM);
                return x.item_double();
            });
            Thread.sleep(2_500);                                       // leader-only work, 3x the collective timeout
            g0.barrier();
            Tensor x = Tensors.floats(new float[]{1}, 1);
            g0.allreduce(g0.world, x, ReduceOp.RedOpType.SUM);
            assertThat(x.item_double()).isEqualTo(3.0);
            assertThat(waiting.get(30, TimeUnit.SECONDS)).isEqualTo(3.0);
            // rank 1 does not come to the next barrier: rank 0 is told which rank is missing
            assertThatThrownBy(g0::barrier).isInstanceOf(Groups.CollectiveFailure.class).hasMessageContaining("rank(s) [1] never arrived");
        } finally {
            g1.close();                                            // rank 0 holds the store's server: it goes last
            g0.close();
        }
        for (int i = 0; i < 3; i++) System.gc();                   // nothing left for JavaCPP to free behind our back
        Thread.sleep(200);
    }

    /**
     * A rank whose process died (killed while the others wait at a checkpoint's barrier) is named within seconds,
     * not after the barrier's hour: every rank tells the store it is alive twice a second, and a barrier gives up
     * on a missing rank whose sign of life stopped. Without it the survivor of a rank killed inside a checkpoint
     * write (scripts/chaos-train.sh --direct) waited out BARRIER_MS, an hour by default.
     */
    @Test void aDeadRankIsNamedAtABarrierLongBeforeTheBarrierTimeout() throws Exception {
        Torch.init();
        int port = freePort();
        Groups.Timeouts t = new Groups.Timeouts(20_000, 800, 60_000);
        Strategy two = new Strategy(2, 1);
        CompletableFuture<Groups> r1 = CompletableFuture.supplyAsync(() -> new Groups(new DistEnv("127.0.0.1", port, 1, 2, 1, false), two, t));
        Groups g0 = new Groups(new DistEnv("127.0.0.1", port, 0, 2, 0, false), two, t);
        Groups g1 = r1.get(30, TimeUnit.SECONDS);
        try {
            g1.close();                                                // rank 1 is gone: no more signs of life
            long t0 = System.currentTimeMillis();
            assertThatThrownBy(g0::barrier).isInstanceOf(Groups.CollectiveFailure.class)
                    .hasMessageContaining("rank(s) [1]").hasMessageContaining("no sign of life");
            assertThat(System.currentTimeMillis() - t0).isLessThan(30_000);
        } finally {
            g0.close();
        }
        for (int i = 0; i < 3; i++) System.gc();
        Thread.sleep(200);
    }
}
