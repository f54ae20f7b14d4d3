package m6j.model;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * Mixture-of-experts FFN. Experts are stored batched, w1 (E, d, f) and w2 (E, f, d), so all experts run as
 * two bmm calls over an (E, C, d) dispatch buffer: the same layout an expert-parallel all-to-all exchanges.
 * Dropless (moe.dropless) sorts the assignments by expert instead and multiplies each expert's contiguous rows
 * (no capacity, no padding, no drops). Shared experts (moe.sharedExperts) are a dense FFN beside the routed ones;
 * bias balancing (moe.biasUpdateRate) adds a per-expert bias to the scores that choose experts (not to the gates).
 * Routing bookkeeping (slot of each assignment) is done in Java on small index arrays; tensors carry the math.
 */
final class MoeFfn implements Ffn {
    private final MoeConfig m;
    private final int layer, experts, groups, k, localExperts;
    final Tensor router, w1, b1, w2, b2;
    /** Module names of the expert matrices (what an adapter targets). */
    private final String[] names;
    /** Routing bias (E) of auxiliary-loss-free balancing, or null; changed only by {@link #balance}. */
    final Tensor bias;
    /** Always-on shared experts, or null. */
    final DenseFfn shared;
    /** Assignments per expert (before capacity) since the last {@link #balance}: the load the bias answers. */
    private final long[] load;

    MoeFfn(Params p, String prefix, M6Config c, int layer) { this(p, prefix, c, layer, ExpertShard.ALL); }

    /** Holds only the shard's experts; their initial values are the same slice of the full model's. */
    MoeFfn(Params p, String prefix, M6Config c, int layer, ExpertShard shard) {
        this.m = c.moe();
        this.layer = layer;
        this.experts = m.experts();
        this.groups = m.prototypes();
        this.k = m.k();
        int d = c.dModel(), f = c.dFF(), e = experts;
        localExperts = shard.local(e);
        long first = shard.first(e), le = localExperts;
        names = new String[]{prefix + "w1", prefix + "w2"};
        router = p.normal(prefix + "router.weight", 0.02, e, d);
        w1 = p.getOrCreate(prefix + "w1", new long[]{le, d, f}, () -> Tensors.rows(Tensors.normal(0.02, p.dtype, e, d, f), first, le));
        b1 = p.zeros(prefix + "b1", le, 1, f);
        w2 = p.getOrCreate(prefix + "w2", new long[]{le, f, d}, () -> Tensors.rows(Tensors.normal(0.02 / Math.sqrt(2.0 * c.nLayers()), p.dtype, e, f, d), first, le));
        b2 = p.zeros(prefix + "b2", le, 1, d);
        for (String n : new String[]{"w1", "b1", "w2", "b2"}) p.markSharded(prefix + n);
        bias = m.biasUpdateRate() > 0 ? p.zeros(prefix + "router.bias", e) : null;
        shared = m.sharedExperts() > 0 ? new DenseFfn(p, prefix + "shared.", c, m.sharedExperts() * f) : null;
        load = new long[e];
    }

    /** Assignments per expert since the last balance (a copy). */
    long[] load() { return load.clone(); }

    /** Layers that share weights (shareLayers) share one bias: the key they share it under. */
    String weightsKey() { return names[0]; }

    void resetLoad() { java.util.Arrays.fill(load, 0); }

    /**
     * One bias-balancing update from the load of a step (summed over every rank, so replicas move alike): an expert
     * above the mean load loses rate, one below gains it (DeepSeek-V3's sign rule); the counters restart.
     */
    void balance(double[] stepLoad) {
        java.util.Arrays.fill(load, 0);
        if (bias == null) return;
        double mean = java.util.Arrays.stream(stepLoad).average().orElse(0);
        double[] delta = new double[experts];
        for (int i = 0; i < experts; i++) delta[i] = m.biasUpdateRate() * Math.signum(mean - stepLoad[i]);
        try (org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
            bias.add_(Devices.like(bias, Tensor.create(delta, experts).to(bias.scalar_type())));
        }
    }

    @Override public Tensor forward(Tensor x, ForwardContext ctx) {
        long b = x.size(0), s = x.size(1), d = x.size(2);
        int n = (int) (b * s), e = experts;
        Tensor xf = x.reshape(n, d);                                    // (N, d)
        Tensor logits = torch.linear(xf, router);                       // (N, E)
        Tensor probs, gates, idx;
        if (groups > 1) {                                               // k top-1: top-1 inside each prototype group
            int per = e / groups;
            probs = torch.softmax(logits.view(n, groups, per), -1);      // (N, G, E/G)
            Tensor score = bias == null ? probs : probs.add(bias.detach().view(1, groups, per));  // chooses; gates stay probs
            T_TensorTensor_T top = score.max(-1, false);
            gates = bias == null ? top.get0().clone()                    // (N, G); clone: get0() points into the tuple
                    : probs.gather(-1, top.get1().unsqueeze(-1)).squeeze(-1);
            long[] offs = new long[groups];
            for (int g = 0; g < groups; g++) offs[g] = (long) g * per;
            idx = top.get1().add(Devices.like(x, Tensors.longs(offs, 1, groups)));        // global expert ids (N, G)
            Reference.reachabilityFence(top);
            probs = probs.view(n, e);
        } else {
            probs = torch.softmax(logits, -1);                           // (N, E)
            Tensor score = bias == null ? probs : probs.add(bias.detach().view(1, e));
            T_TensorTensor_T top = torch.topk(score, k, -1, true, true);
            // get0()/get1() point into the tuple, which the GC may free once unreachable: own copies instead.
            idx = top.get1().clone();                                    // (N, k)
            gates = bias == null ? top.get0().clone() : probs.gather(1, idx);
            if (k > 1) gates = gates.div(gates.sum(new long[]{-1}, true, new ScalarTypeOptional()));
        }
        // Assignments in choice-major order (every token's first choice before any second choice, as GShard).
        long[] choice = Tensors.toLongs(idx.t().contiguous());          // (k*N)
        int a = choice.length;
        long[] count = new long[e];
        long[] pos = new long[a];
        for (int i = 0; i < a; i++) pos[i] = count[(int) choice[i]]++;
        if (ctx.training && ctx.countsLoad()) for (int i = 0; i < e; i++) load[i] += count[i];
        // Only a training step reads the aux loss (decoding computed it on every step); before any exchange: ctx carries it over.
        if (ctx.training && (m.auxLossWeight() > 0 || m.zLossWeight() > 0)) ctx.addAux(auxLoss(logits, probs, count, a));
        Tensor y = m.dropless() ? dropless(xf, choice, count, gates, ctx) : capacityRouted(xf, choice, pos, count, gates, ctx, x);
        if (shared != null) y = y.add(shared.forward(xf, ctx));          // (N, d)
        return y.view(b, s, d);
    }

    /**
     * Dropless: assignments sorted by expert (choice-major inside each expert), each expert's rows multiplied as one
     * contiguous segment, outputs summed back into their tokens weighted by the gates. Nothing is padded or dropped.
     */
    private Tensor dropless(Tensor xf, long[] choice, long[] count, Tensor gates, ForwardContext ctx) {
        if (ctx.exchange != null)
            throw new IllegalArgumentException("dropless MoE (moe.dropless) with expert parallelism is not supported: its all-to-all exchanges fixed-capacity blocks");
        int n = (int) xf.size(0), a = choice.length;
        long d = xf.size(1);
        LayerStore.Experts run = ctx.store().experts(layer, count, new Tensor[]{w1, b1, w2, b2});
        long[] ids = run.ids();
        int[] local = new int[experts];
        java.util.Arrays.fill(local, -1);
        for (int j = 0; j < ids.length; j++) local[(int) ids[j]] = j;
        long[] start = new long[ids.length + 1];
        for (int j = 0; j < ids.length; j++) start[j + 1] = start[j] + count[(int) ids[j]];
        long[] next = start.clone(), order = new long[a], token = new long[a];
        for (int i = 0; i < a; i++) {                                   // counting sort by expert, stable
            int j = local[(int) choice[i]];
            order[(int) next[j]] = i;
            token[(int) next[j]++] = i % n;
        }
        Tensor tokens = Devices.like(xf, Tensors.longs(token, a));
        Tensor xs = xf.index_select(0, tokens);                          // (A, d) sorted by expert
        Tensor[] w = run.weights();
        org.bytedeco.pytorch.TensorVector outs = new org.bytedeco.pytorch.TensorVector();
        for (int j = 0; j < ids.length; j++) {
            long c = start[j + 1] - start[j];
            if (c == 0) continue;
            Tensor seg = xs.narrow(0, start[j], c).unsqueeze(0);          // (1, c, d)
            long[] one = {ids[j]};
            Tensor h = torch.gelu(ctx.experts(names[0], seg, w[0].narrow(0, j, 1), w[1].narrow(0, j, 1), one));  // (1, c, f)
            outs.push_back(ctx.experts(names[1], h, w[2].narrow(0, j, 1), w[3].narrow(0, j, 1), one).squeeze(0)); // (c, d)
        }
        Tensor ys = torch.cat(outs, 0);                                   // (A, d)
        Tensor g = gates.t().reshape(a).index_select(0, Devices.like(xf, Tensors.longs(order, a)));              // (A)
        Tensor y = torch.zeros(n, d).to(ys.scalar_type());
        y = Devices.like(xf, y).index_add(0, tokens, ys.mul(g.unsqueeze(1)));                                   // (N, d)
        if (ctx.stats != null) ctx.stats.record(layer, count.clone(), 0, a);
        return y;
    }

    /** Capacity routing: (E, C, d) dispatch buffer, two batched matmuls, assignments past C dropped. */
    private Tensor capacityRouted(Tensor xf, long[] choice, long[] pos, long[] count, Tensor gates, ForwardContext ctx, Tensor x) {
        int n = (int) xf.size(0), e = experts, a = choice.length;
        long d = xf.size(1);
        int cap = capacity(n, ctx.training, count, ctx.dropTokens());
        ExpertExchange ex = ctx.exchange;
        if (ex != null) cap = ex.agreeCapacity(cap);                   // every rank sends (E, C, d) blocks of one C
        // The store says which experts run (resident: all; offloaded: those that receive tokens) and with what weights.
        LayerStore.Experts run = ctx.store().experts(layer, count, new Tensor[]{w1, b1, w2, b2});
        long[] ids = run.ids();
        int el = ids.length;
        int[] local = new int[e];
        for (int j = 0; j < el; j++) local[(int) ids[j]] = j;
        long[] slot = new long[a];
        long[] slotToken = new long[el * cap];
        Arrays.fill(slotToken, n);                            // row n of xpad is zeros: empty slot
        long[] kept = new long[e];
        long dropped = 0;
        for (int i = 0; i < a; i++) {
            int ei = (int) choice[i];
            if (pos[i] < cap) {
                slot[i] = (long) local[ei] * cap + pos[i];
                slotToken[(int) slot[i]] = i % n;
                kept[ei]++;
            } else {
                slot[i] = (long) el * cap;                               // the zero row after all slots: dropped
                dropped++;
            }
        }
        Tensor xpad = torch.cat(Tensors.vector(xf, Devices.like(x, torch.zeros(1, d).to(xf.scalar_type()))), 0);      // (N+1, d)
        Tensor disp = xpad.index_select(0, Devices.like(x, Tensors.longs(slotToken, slotToken.length))).view(el, cap, d); // (E', C, d)
        if (ex != null) {
            gates = ctx.cut(gates);                                     // used after the exchange
            disp = ctx.cross(disp, ex::dispatch, ex::combine);          // (E_local, ranks*C, d)
        }
        Tensor[] w = run.weights();
        long[] which = ex != null ? null : ids;                         // after an exchange: this rank's experts, all of them
        Tensor h = torch.gelu(ctx.experts(names[0], disp, w[0], w[1], which));  // (E_local, rows, f)
        Tensor out = ctx.experts(names[1], h, w[2], w[3], which);              // (E_local, rows, d)
        if (ex != null) out = ctx.cross(out, ex::combine, ex::dispatch); // (E, C, d)
        out = out.view((long) el * cap, d);                             // (E'*C, d)
        Tensor outPad = torch.cat(Tensors.vector(out, Devices.like(x, torch.zeros(1, d).to(out.scalar_type()))), 0);
        Tensor y = outPad.index_select(0, Devices.like(x, Tensors.longs(slot, a)))        // (k*N, d), dropped rows are 0
                .mul(gates.t().reshape(a, 1))
                .view(k, n, d).sum(new long[]{0}, false, new ScalarTypeOptional());
        if (ctx.stats != null) ctx.stats.record(layer, kept, dropped, a);
        return y;                                                       // (N, d)
    }

    private int capacity(int tokens, boolean training, long[] count, boolean drop) {
        if (m.dropTokens() && drop) return m.capacity(tokens, training);
        long max = 1;
        for (long c : count) max = Math.max(max, c);
        return (int) max;                                               // no dropping: room for the busiest expert
    }

    /** Switch/GShard balance loss E/G * sum_e(frac_e * meanprob_e) (1.0 when balanced) plus router z-loss. */
    private Tensor auxLoss(Tensor logits, Tensor probs, long[] count, int assignments) {
        double[] frac = new double[experts];
        for (int i = 0; i < experts; i++) frac[i] = (double) count[i] / assignments;
        Tensor meanProb = probs.mean(new long[]{0}, false, new ScalarTypeOptional());  // (E)
        Tensor balance = meanProb.mul(Devices.like(probs, Tensor.create(frac, experts).to(probs.scalar_type())))
                .sum().mul(Tensors.scalar((double) experts / groups));
        Tensor loss = balance.mul(Tensors.scalar(m.auxLossWeight()));
        if (m.zLossWeight() > 0) {
            Tensor z = torch.logsumexp(logits, new long[]{-1}, false);
            loss = loss.add(z.mul(z).mean().mul(Tensors.scalar(m.zLossWeight())));
        }
        return loss;
    }
}
