package m6j.model;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.util.Map;

/**
 * M6: one transformer over [image patches][text tokens]. Images are cut into patchSize x patchSize patches,
 * each linearly embedded (a strided conv written as a linear map) plus a learned patch position; text tokens
 * get a learned text position. The LM head is tied to the token embedding. Written for one device and
 * one process: parallelism and offloading wrap it from outside.
 */
public final class M6Model {
    public final M6Config config;
    public final Params params;
    public final ExpertShard shard;
    private final Tensor tok, posText, posImage, patchW, patchB, lnfW, lnfB;
    /** Alignment heads (config.aligned()): image and text projections (D, d) and the log of the logit scale. */
    private final Tensor itcImage, itcText, itcScale;
    private final Block[] blocks;
    /** MoE layers with auxiliary-loss-free bias balancing, one group per distinct set of weights (shareLayers: one). */
    private final java.util.List<java.util.List<MoeFfn>> balanced;

    /** On the device chosen with --device (CPU by default). */
    public M6Model(M6Config c, ScalarType dtype, long seed) { this(c, dtype, seed, Devices.chosen()); }

    public M6Model(M6Config c, ScalarType dtype, long seed, Device device) {
        this(c, dtype, seed, device, ExpertShard.ALL);
    }

    /** With an expert shard, MoE layers hold only that shard's experts (expert parallelism wraps the rest). */
    public M6Model(M6Config c, ScalarType dtype, long seed, Device device, ExpertShard shard) {
        this(c, dtype, seed, device, shard, null);
    }

    /** sink sees each parameter as it is created (an offloading store takes it there); may be null. */
    public M6Model(M6Config c, ScalarType dtype, long seed, Device device, ExpertShard shard, Params.Sink sink) {
        this.config = c;
        this.shard = shard;
        if (device == null) device = Devices.chosen();
        torch.manual_seed(seed);
        params = new Params(dtype, seed, device, sink);
        int d = c.dModel();
        tok = params.normal("tok.weight", 0.02, c.vocabSize(), d);
        posText = params.normal("pos_text", 0.01, c.maxTextLen(), d);
        posImage = params.normal("pos_image", 0.01, c.patches(), d);
        patchW = params.normal("patch.weight", 0.02, d, c.patchDim());
        patchB = params.zeros("patch.bias", d);
        blocks = new Block[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) blocks[l] = new Block(params, c, l, shard);
        java.util.Map<String, java.util.List<MoeFfn>> by = new java.util.LinkedHashMap<>();
        for (Block b : blocks)
            if (b.ffn instanceof MoeFfn f && f.bias != null) by.computeIfAbsent(f.weightsKey(), k -> new java.util.ArrayList<>()).add(f);
        balanced = java.util.List.copyOf(by.values());
        lnfW = params.ones("ln_f.weight", d);
        lnfB = params.zeros("ln_f.bias", d);
        if (c.aligned()) {                                   // image-text alignment heads (the itc objective)
            itcImage = params.normal("itc.image.weight", 1 / Math.sqrt(d), c.itcDim(), d);
            itcText = params.normal("itc.text.weight", 1 / Math.sqrt(d), c.itcDim(), d);
            itcScale = params.getOrCreate("itc.logit_scale", new long[]{1},
                    () -> Tensors.ones(params.dtype(), 1).mul(Tensors.scalar(Math.log(1 / 0.07))));   // CLIP's start
        } else {
            itcImage = itcText = itcScale = null;
        }
    }

    /** images uint8 (B, H, W, C) -> (B, P, d). */
    public Tensor embedImages(Tensor images) { return embedImages(images, ForwardContext.serving()); }

    /** As {@link #embedImages(Tensor)}, through ctx (an adapter on the patch embedding applies). */
    Tensor embedImages(Tensor images, ForwardContext ctx) {
        int p = config.patchSize(), g = config.imageSize() / p;
        long b = images.size(0);
        Tensor x = images.to(params.dtype()).div(Tensors.scalar(127.5)).sub(Tensors.scalar(1.0)); // [-1, 1]
        Tensor patches = x.view(b, g, p, g, p, config.channels()).permute(0, 1, 3, 2, 4, 5)
                .reshape(b, (long) g * g, config.patchDim());                                         // (B, P, p*p*C)
        return ctx.linear("patch", patches, patchW, patchB).add(posImage);
    }

    /** tokens (B, T) long, starting at text position pos0 -> (B, T, d). */
    public Tensor embedTokens(Tensor tokens, int pos0) { return embedTokens(tokens, pos0, ForwardContext.serving()); }

    /** As {@link #embedTokens(Tensor, int)}, through ctx (an adapter on the token embedding applies). */
    Tensor embedTokens(Tensor tokens, int pos0, ForwardContext ctx) {
        long t = tokens.size(1);
        if (pos0 + t > config.maxTextLen())
            throw new IllegalArgumentException("text longer than the model's context: " + (pos0 + t) + " > " + config.maxTextLen());
        return torch.embedding(ctx.weight("tok", tok), tokens).add(posText.narrow(0, pos0, t));
    }

    /**
     * Final hidden states (B, S, d) for [images?][tokens]. mask: (B, 1, S, past+S) from {@link PrefixMask} or null
     * (attend everywhere: a single decode step). cache: KV cache or null.
     */
    public Tensor forward(Tensor images, Tensor tokens, int textPos0, Tensor mask, KvCache cache, ForwardContext ctx) {
        images = Devices.like(tok, images);
        tokens = Devices.like(tok, tokens);
        mask = Devices.like(tok, mask);
        Tensor x;
        if (images != null && tokens != null) x = torch.cat(Tensors.vector(embedImages(images, ctx), embedTokens(tokens, textPos0, ctx)), 1);
        else if (images != null) x = embedImages(images, ctx);
        else x = embedTokens(tokens, textPos0, ctx);
        for (Block b : blocks) x = ctx.block(b, x, mask, cache);
        if (cache != null) cache.advance((int) x.size(1));
        return torch.layer_norm(x, new long[]{config.dModel()}, Tensors.opt(lnfW), Tensors.opt(lnfB), 1e-5, true);
    }

    /**
     * One batched decode step for requests of different lengths (continuous batching): row i feeds token
     * tokens[i] at text position textPos[i] into its own slot cache slots[i] (slots of one pool, see
     * {@link KvCache#slot}). Returns final hidden states (B, 1, d); each slot advances by one.
     */
    public Tensor decode(long[] tokens, int[] textPos, KvCache[] slots, ForwardContext ctx) {
        int b = tokens.length;
        if (textPos.length != b || slots.length != b) throw new IllegalArgumentException("tokens, textPos and slots must have equal length");
        long[] pos = new long[b];
        for (int i = 0; i < b; i++) {
            if (textPos[i] < 0 || textPos[i] >= config.maxTextLen())
                throw new IllegalArgumentException("text position " + textPos[i] + " outside the model's context of " + config.maxTextLen());
            pos[i] = textPos[i];
        }
        try (KvCache step = KvCache.ragged(slots)) {
            int span = step.span();
            boolean[] m = new boolean[b * span];
            for (int i = 0; i < b; i++) for (int j = 0; j <= slots[i].length(); j++) m[i * span + j] = true;
            Tensor mask = Devices.like(tok, Tensors.bools(m, b, 1, 1, span));
            Tensor x = torch.embedding(ctx.weight("tok", tok), Devices.like(tok, Tensors.longs(tokens, b, 1)))
                    .add(posText.index_select(0, Devices.like(tok, Tensors.longs(pos, b))).unsqueeze(1));   // (B, 1, d)
            for (Block block : blocks) x = ctx.block(block, x, mask, step);
            for (KvCache s : slots) s.advance(1);
            return torch.layer_norm(x, new long[]{config.dModel()}, Tensors.opt(lnfW), Tensors.opt(lnfB), 1e-5, true);
        }
    }

    /** Whether any MoE layer balances its routing by bias (moe.biasUpdateRate > 0). */
    public boolean balancesRouting() { return !balanced.isEmpty(); }

    /**
     * Assignments per expert of every bias-balanced MoE layer since the last {@link #balanceRouting}, concatenated
     * (E per layer, in layer order): what a trainer sums over its ranks and hands back.
     */
    public double[] routingLoad() {
        int e = config.moe().experts();
        double[] out = new double[balanced.size() * e];
        for (int g = 0; g < balanced.size(); g++)
            for (MoeFfn f : balanced.get(g)) {
                long[] l = f.load();
                for (int i = 0; i < e; i++) out[g * e + i] += l[i];
            }
        return out;
    }

    /** One bias update per balanced layer from a step's load (as {@link #routingLoad} lays it out, summed over ranks). */
    public void balanceRouting(double[] stepLoad) {
        int e = config.moe().experts();
        for (int g = 0; g < balanced.size(); g++) {
            balanced.get(g).get(0).balance(java.util.Arrays.copyOfRange(stepLoad, g * e, (g + 1) * e));
            for (MoeFfn f : balanced.get(g)) f.resetLoad();
        }
    }

    /** h (..., d) -> logits (..., V) through the tied embedding. */
    public Tensor logits(Tensor h) { return torch.linear(h, tok); }

    /** The same through ctx: an adapter on the (tied) token embedding changes the output layer too. */
    public Tensor logits(Tensor h, ForwardContext ctx) { return torch.linear(h, ctx.weight("tok", tok)); }

    /** Logits of the vocabulary slice [from, from + len) only (R, len): decoding that may choose only text or only codes. */
    public Tensor logits(Tensor h, ForwardContext ctx, long from, long len) {
        return torch.linear(h, ctx.weight("tok", tok).narrow(0, from, len));
    }

    public KvCache newCache(int batch, int maxLen) { return new KvCache(config, batch, maxLen, params.dtype(), params.device()); }

    /**
     * Copies every parameter's values from full-model tensors (same names; expert tensors hold all experts and
     * this model's shard is sliced out), so a checkpoint loads at any expert-parallel degree.
     */
    public void load(Map<String, Tensor> tensors, String source) {
        if (PointerScope.getInnerScope() != null)
            throw new IllegalStateException("M6Model.load must run outside a PointerScope");
        for (var e : params.named().entrySet()) {
            Tensor src = tensors.get(e.getKey());
            if (src == null) throw new IllegalArgumentException(source + ": missing tensor '" + e.getKey() + "'");
            src = params.shardOf(e.getKey(), src, e.getValue(), shard, source);
            try (var ng = new NoGradGuard()) {
                e.getValue().copy_(src.to(e.getValue().scalar_type()));
            }
        }
    }

    /** Unit embeddings (B, D) of images and of texts in the alignment heads' shared space (either may be null). */
    public record Aligned(Tensor images, Tensor texts) {}

    /**
     * images uint8 (B, H, W, C) and/or tokens (B, T) ([BOS text], padded with 0) -> their aligned embeddings. With
     * both, one forward over [image][text] in which neither sees the other ({@link PrefixMask#separate}): the
     * image's states are what an image-only forward gives and the text's what a text-only one gives. Each side is
     * mean-pooled (the image over its patches, the text over its tokens), projected by its head, L2-normalised.
     */
    public Aligned align(Tensor images, Tensor tokens, ForwardContext ctx) {
        if (!config.aligned()) throw new IllegalStateException("model " + config.name() + " has no alignment heads (itcDim 0)");
        int p = images == null ? 0 : config.patches();
        int[] len = null;
        Tensor mask = null;                                                   // images alone: attend everywhere
        if (tokens != null) {
            long[] counts = Tensors.toLongs(tokens.ne(Tensors.scalar(0)).sum(new long[]{1}, false, new ScalarTypeOptional()));
            len = new int[counts.length];
            for (int i = 0; i < len.length; i++) len[i] = (int) Math.max(1, counts[i]);
            mask = PrefixMask.separate(p, len, (int) tokens.size(1));
        }
        Tensor h = forward(images, tokens, 0, mask, null, ctx);                                  // (B, P+T, d)
        Tensor img = null, txt = null;
        if (images != null) {
            Tensor pooled = h.narrow(1, 0, p).mean(new long[]{1}, false, new ScalarTypeOptional());    // (B, d)
            img = unit(torch.linear(pooled, itcImage));                                              // (B, D)
        }
        if (tokens != null) {
            Tensor keep = Devices.like(h, tokens.ne(Tensors.scalar(0))).to(h.scalar_type()).unsqueeze(2);   // (B, T, 1)
            Tensor n = Devices.like(h, Tensors.floats(toFloats(len), len.length, 1)).to(h.scalar_type());    // (B, 1)
            Tensor pooled = h.narrow(1, p, tokens.size(1)).mul(keep).sum(new long[]{1}, false, new ScalarTypeOptional()).div(n);
            txt = unit(torch.linear(pooled, itcText));
        }
        return new Aligned(img, txt);
    }

    /** exp of the learned log logit scale, at most 100 (CLIP's bound: a larger scale only sharpens noise). */
    public Tensor alignmentScale() { return itcScale.clamp_max(Tensors.scalar(Math.log(100))).exp(); }

    private static Tensor unit(Tensor x) {
        return x.div(x.pow(Tensors.scalar(2)).sum(new long[]{-1}, true, new ScalarTypeOptional()).clamp_min(Tensors.scalar(1e-12)).sqrt());
    }

    private static float[] toFloats(int[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = a[i];
        return f;
    }
}
