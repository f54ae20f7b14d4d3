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

import java.util.stream.LongStream;

/** The loss every objective trains with: cross-entropy at the batch's target positions. */
public final class Loss {
    private Loss() {}

    /**
     * Mean cross-entropy of the batch's target positions. Hidden states are gathered before the LM head, and the
     * head runs in chunks of about 8 MB of logits: glibc serves blocks over 32 MB with fresh mmaps, and on these
     * VMs page-faulting a 70 MB logits tensor every step made the head 7x slower than the matmul behind it.
     */
    public static Tensor of(M6Model model, Batch b, ForwardContext ctx) {
        if (b.objective() == Objective.ITC) return contrastive(model, b, ctx);
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

    /**
     * Symmetric InfoNCE of the batch's images and captions (the itc objective): every image against every caption of
     * the step's whole batch (rows gathered from all ranks by ctx), cross-entropy towards its own caption and back,
     * logits scaled by the model's learned temperature.
     */
    static Tensor contrastive(M6Model model, Batch b, ForwardContext ctx) {
        M6Model.Aligned a = model.align(b.images(), b.tokens(), ctx);
        Tensor img = ctx.gather().gather(a.images()), txt = ctx.gather().gather(a.texts());          // (N, D)
        long n = img.size(0);
        Tensor logits = torch.matmul(img, txt.t()).mul(ctx.gather().shared(model.alignmentScale()));   // (N, N)
        Tensor target = Devices.like(logits, Tensors.longs(LongStream.range(0, n).toArray(), n));
        return torch.cross_entropy(logits, target).add(torch.cross_entropy(logits.t(), target)).div(Tensors.scalar(2));
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
