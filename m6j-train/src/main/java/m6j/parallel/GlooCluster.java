package m6j.parallel;

import m6j.model.ExpertShard;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.model.Params;
import m6j.model.RowGather;
import m6j.optim.AdamW;
import m6j.runtime.Tensors;
import m6j.train.Cluster;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.List;

/**
 * Data + expert parallel training on Gloo process groups. Dense gradients are summed over the world, expert
 * gradients over the data-parallel replicas of the same shard, in flat buckets; the gradient norm is global.
 */
public final class GlooCluster implements Cluster {
    private static final long BUCKET_BYTES = 16L << 20;
    private final Groups g;
    private final ExpertShard shard;
    public final CommStats stats = new CommStats();

    public GlooCluster(Groups g) {
        this.g = g;
        this.shard = new ExpertShard(g.strategy.epIndex(g.env.rank()), g.strategy.ep());
    }

    @Override public int rank() { return g.env.rank(); }

    @Override public int world() { return g.env.world(); }

    @Override public ExpertShard shard() { return shard; }

    @Override public boolean writesShard() { return g.strategy.dpIndex(rank()) == 0; }

    @Override public ForwardContext trainContext() {
        return new ForwardContext(true, null, g.strategy.ep() > 1 ? new ExpertParallel(g, stats) : null)
                .gather(world() > 1 ? rows : RowGather.LOCAL);
    }

    private final RowGather rows = new RowGather() {
        @Override public Tensor gather(Tensor local) { return gatherRows(local); }

        @Override public Tensor shared(Tensor t) {
            double w = world();
            return t.div(Tensors.scalar(w)).add(t.detach().mul(Tensors.scalar((w - 1) / w)));
        }
    };

    /**
     * Every rank's rows (B, ...) in rank order (world*B, ...), by one all-reduce of a zero tensor into which each rank
     * wrote its own rows; then this rank's rows are replaced by local itself, so autograd reaches them (RowGather).
     */
    private Tensor gatherRows(Tensor local) {
        long b = local.size(0), off = b * rank();
        long[] shape = Tensors.shape(local);
        shape[0] = b * world();
        Tensor all;
        try (NoGradGuard ng = new NoGradGuard()) {
            all = torch.zeros(shape, new TensorOptions(local.scalar_type()));
            all.narrow(0, off, b).copy_(local.detach());
            long t0 = System.nanoTime();
            g.allreduce(g.world, all, ReduceOp.RedOpType.SUM);
            stats.allreduce(System.nanoTime() - t0, 2 * all.nbytes());
        }
        TensorVector parts = new TensorVector();
        if (off > 0) parts.push_back(all.narrow(0, 0, off));
        parts.push_back(local);
        if (off + b < shape[0]) parts.push_back(all.narrow(0, off + b, shape[0] - off - b));
        return torch.cat(parts, 0);
    }

    @Override public void beginStep(int step) { g.heartbeat(step); }

    @Override public void reduceGradients(Params params) {
        List<Tensor> dense = new ArrayList<>(), experts = new ArrayList<>();
        for (var e : params.named().entrySet()) {
            Tensor grad = e.getValue().grad();
            if (grad == null || !grad.defined()) continue;            // unused this step on every rank alike
            (params.isSharded(e.getKey()) ? experts : dense).add(grad);
        }
        allreduceBuckets(g.world, dense);
        allreduceBuckets(g.dp, experts);
    }

    /** Flattens gradients into buckets of at most 16 MB, sums each bucket over the group, copies back. */
    private void allreduceBuckets(ProcessGroupGloo group, List<Tensor> grads) {
        if (group == null || grads.isEmpty()) return;
        try (NoGradGuard ng = new NoGradGuard()) {
            int i = 0;
            while (i < grads.size()) {
                List<Tensor> bucket = new ArrayList<>();
                long bytes = 0;
                while (i < grads.size() && (bucket.isEmpty() || bytes + grads.get(i).nbytes() <= BUCKET_BYTES)) {
                    bytes += grads.get(i).nbytes();
                    bucket.add(grads.get(i++));
                }
                TensorVector v = new TensorVector();
                for (Tensor t : bucket) v.push_back(t.reshape(-1));
                Tensor flat = torch.cat(v, 0);
                long t0 = System.nanoTime();
                g.allreduce(group, flat, ReduceOp.RedOpType.SUM);
                stats.allreduce(System.nanoTime() - t0, 2 * bytes);
                long off = 0;
                for (Tensor t : bucket) {
                    t.copy_(flat.narrow(0, off, t.numel()).view(Tensors.shape(t)));
                    off += t.numel();
                }
                flat.close();
            }
        }
    }

    @Override public double clipGradNorm(Params params, double max) {
        double dense = 0, experts = 0;
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : params.named().entrySet()) {
                Tensor grad = e.getValue().grad();
                if (grad == null || !grad.defined()) continue;
                double sq = AdamW.squares(grad);                 // double accumulation, as one process
                if (params.isSharded(e.getKey())) experts += sq; else dense += sq;
            }
        }
        if (g.ep != null) {
            Tensor t = Tensor.create(new double[]{experts}, 1);
            g.allreduce(g.ep, t, ReduceOp.RedOpType.SUM);
            experts = t.item_double();
        }
        double norm = Math.sqrt(dense + experts);
        AdamW.scaleToNorm(params.named(), norm, max);
        return norm;
    }

    @Override public double sum(double v) {
        Tensor t = Tensor.create(new double[]{v}, 1);
        g.allreduce(g.world, t, ReduceOp.RedOpType.SUM);
        return t.item_double();
    }

    @Override public double[] sum(double[] v) {
        if (v.length == 0) return v;
        Tensor t = Tensor.create(v, v.length);
        g.allreduce(g.world, t, ReduceOp.RedOpType.SUM);
        double[] out = new double[v.length];
        t.data_ptr_double().get(out);
        return out;
    }

    @Override public void barrier() { g.barrier(); }

    /**
     * Compares checksums of the replicated parameters over the world and of each expert shard over its replicas
     * (min and max must be equal); a mismatch is an error, since replicas that drift never come back.
     */
    @Override public String verifyReplicas(M6Model model) {
        double dense = 0, experts = 0;
        for (var e : model.params.named().entrySet()) {
            double s = e.getValue().detach().to(torch.ScalarType.Double).abs().sum().item_double();
            if (model.params.isSharded(e.getKey())) experts += s; else dense += s;
        }
        double[] d = minMax(g.world, dense), x = minMax(g.dp, experts);
        if (d[0] != d[1] || x[0] != x[1])
            throw new IllegalStateException(String.format("rank %d: replicas diverged: dense checksum %.17g..%.17g, expert %.17g..%.17g",
                    rank(), d[0], d[1], x[0], x[1]));
        return String.format("replicas identical (dense checksum %.12g over %d ranks)", dense, world());
    }

    private double[] minMax(ProcessGroupGloo group, double v) {
        Tensor hi = Tensor.create(new double[]{v}, 1), lo = Tensor.create(new double[]{-v}, 1);
        g.allreduce(group, hi, ReduceOp.RedOpType.MAX);
        g.allreduce(group, lo, ReduceOp.RedOpType.MAX);
        return new double[]{-lo.item_double(), hi.item_double()};
    }
}
