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
 * Routing bookkeeping (slot of each assignment) is done in Java on small index arrays; tensors carry the math.
 */
final class MoeFfn implements Ffn {
    private final MoeConfig m;
    private final int layer, experts, groups, k, localExperts;
    final Tensor router, w1, b1, w2, b2;
    /** Module names of the expert matrices (what an adapter targets). */
    private final String[] names;

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
            T_TensorTensor_T top = probs.max(-1, false);
            gates = top.get0().clone();                                  // (N, G); clone: get0() points into the tuple
            long[] offs = new long[groups];
            for (int g = 0; g < groups; g++) offs[g] = (long) g * per;
            idx = top.get1().add(Devices.like(x, Tensors.longs(offs, 1, groups)));        // global expert ids (N, G)
            Reference.reachabilityFence(top);
            probs = probs.view(n, e);
        } else {
            probs = torch.softmax(logits, -1);                           // (N, E)
            T_TensorTensor_T top = torch.topk(probs, k, -1, true, true);
            // get0()/get1() point into the tuple, which the GC may free once unreachable: own copies instead.
            gates = top.get0().clone();                                  // (N, k)
            idx = top.get1().clone();
            if (k > 1) gates = gates.div(gates.sum(new long[]{-1}, true, new ScalarTypeOptional()));
        }
        // Assignments in choice-major order (every token's first choice before any second choice, as GShard).
        long[] choice = Tensors.toLongs(idx.t().contiguous());          // (k*N)
        int a = choice.length;
        long[] count = new long[e];
        long[] pos = new long[a];
        for (int i = 0; i < a; i++) pos[i] = count[(int) choice[i]]++;
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
        if (m.auxLossWeight() > 0 || m.zLossWeight() > 0) ctx.addAux(auxLoss(logits, probs, count, a));  // before the exchange: ctx carries it over
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
        return y.view(b, s, d);
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
