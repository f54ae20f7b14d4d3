package m6j.train;

import m6j.TestPresets;
import m6j.model.ExpertExchange;
import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import m6j.task.Batch;
import m6j.task.Loss;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ActivationCheckpointingTest {
    static final M6Config C = TestPresets.get("ckpt");

    /** An exchange with oneself (one rank owns every expert): the tape's stages across all-to-alls, in one process. */
    static final ExpertExchange SELF = new ExpertExchange() {
        @Override public int agreeCapacity(int local) { return local; }
        @Override public Tensor dispatch(Tensor perExpert) { return perExpert; }
        @Override public Tensor combine(Tensor expertOut) { return expertOut; }
    };

    static Map<String, double[]> grads(Set<Integer> layers) { return grads(layers, null); }

    static Map<String, double[]> grads(Set<Integer> layers, ExpertExchange exchange) {
        M6Model m = new M6Model(C, ScalarType.Double, 11);
        Batch b = TrainBench.batch(C, 4, 9, new Random(3));
        ForwardContext ctx = new ForwardContext(true, null, exchange).checkpoint(layers);
        Tensor loss = Loss.of(m, b, ctx);
        ctx.backward(loss.add(ctx.auxLoss()).mul(Tensors.scalar(0.5)));
        Map<String, double[]> out = new HashMap<>();
        m.params.named().forEach((k, t) -> { if (t.grad().defined()) out.put(k, Tensors.toDoubles(t.grad())); });
        out.put("loss", new double[]{loss.item_double(), ctx.auxLoss().item_double()});
        return out;
    }

    @Test void recomputedBlocksGiveTheSameLossAndGradients() {
        Torch.init();
        Map<String, double[]> plain = grads(Set.of()), all = grads(Set.of(0, 1, 2)), some = grads(Set.of(1));
        assertThat(all.keySet()).isEqualTo(plain.keySet());
        assertSame(plain, List.of(all, some));
    }

    /** Recomputed blocks whose MoE layer sends its tokens through an exchange: the two kinds of stage together. */
    @Test void recomputationAndExpertExchangeCombine() {
        Torch.init();
        Map<String, double[]> plain = grads(Set.of()), staged = grads(Set.of(), SELF), both = grads(Set.of(0, 1, 2), SELF),
                some = grads(Set.of(1), SELF);
        assertThat(both.keySet()).isEqualTo(plain.keySet());
        assertSame(plain, List.of(staged, both, some));
    }

    static void assertSame(Map<String, double[]> want, List<Map<String, double[]>> got) {
        for (Map<String, double[]> other : got) {
            for (var e : want.entrySet()) {
                double[] a = e.getValue(), b = other.get(e.getKey());
                for (int i = 0; i < a.length; i++) assertThat(b[i]).as("%s[%d]", e.getKey(), i).isCloseTo(a[i], within(1e-12 + 1e-9 * Math.abs(a[i])));
            }
        }
    }
}
