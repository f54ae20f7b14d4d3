package m6j.task;

import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.CrossEntropyLossOptions;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kSum;

/** The loss every objective trains with: cross-entropy at the batch's target positions. */
public final class Loss {
    private Loss() {}

    /**
     * Mean cross-entropy of the batch's target positions. Hidden states are gathered before the LM head, and the
     * head runs in chunks of about 8 MB of logits: glibc serves blocks over 32 MB with fresh mmaps, and on these
     * VMs page-faulting a 70 MB logits tensor every step made the head 7x slower than the matmul behind it.
     */
    public static Tensor of(M6Model model, Batch b, ForwardContext ctx) {
        Tensor h = model.forward(b.images(), b.tokens(), 0, b.mask(), null, ctx);      // (B, S, d)
        Tensor flat = h.reshape(-1, model.config.dModel());                              // (B*S, d)
        Tensor pos = Devices.like(h, b.lossPositions()), tgt = Devices.like(h, b.targets());
        int n = b.targetCount();
        int chunk = (int) Math.max(64, Math.min(4096, (8L << 20) / (4L * model.config.vocabSize())));
        CrossEntropyLossOptions sum = new CrossEntropyLossOptions();
        sum.reduction().put(new kSum());
        Tensor total = null;
        for (int i = 0; i < n; i += chunk) {
            int len = Math.min(chunk, n - i);
            Tensor logits = model.logits(flat.index_select(0, pos.narrow(0, i, len)), ctx);  // (len, V)
            Tensor l = torch.cross_entropy(logits, tgt.narrow(0, i, len), sum);
            total = total == null ? l : total.add(l);
        }
        return total.div(Tensors.scalar(n));
    }

    /** Per row of the batch, the summed log-likelihood of its targets (how likely the model finds each row's target). */
    public static double[] rowLogLikelihoods(M6Model model, Batch b, ForwardContext ctx) {
        Tensor h = model.forward(b.images(), b.tokens(), 0, b.mask(), null, ctx);      // (B, S, d)
        long rows = h.size(0), s = h.size(1);
        Tensor pos = Devices.like(h, b.lossPositions()), tgt = Devices.like(h, b.targets());
        Tensor logp = torch.log_softmax(model.logits(h.reshape(-1, model.config.dModel()).index_select(0, pos), ctx), -1, new ScalarTypeOptional());
        float[] lp = Tensors.toFloats(logp.gather(1, tgt.unsqueeze(1)).reshape(-1));          // (n)
        long[] at = Tensors.toLongs(b.lossPositions());
        double[] out = new double[(int) rows];
        for (int i = 0; i < lp.length; i++) out[(int) (at[i] / s)] += lp[i];
        return out;
    }
}
