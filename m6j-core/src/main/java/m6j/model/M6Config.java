package m6j.model;

/**
 * Shape of an M6 model: image patches and text tokens in one pre-LN transformer with a prefix-LM mask.
 * Presets live in resources (m6j/presets.json) as data; see {@link Presets}.
 */
public record M6Config(String name, int vocabSize, int dModel, int nLayers, int nHeads, int dFF,
                       int maxTextLen, int imageSize, int patchSize, int channels,
                       MoeConfig moe, boolean shareLayers, int itcDim) {
    public M6Config {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("name is required");
        if (vocabSize < 1 || dModel < 1 || nLayers < 1 || nHeads < 1 || dFF < 1 || maxTextLen < 2)
            throw new IllegalArgumentException("sizes must be positive: " + name);
        if (dModel % nHeads != 0) throw new IllegalArgumentException("dModel must be divisible by nHeads");
        if (patchSize < 1 || imageSize % patchSize != 0) throw new IllegalArgumentException("imageSize must be a multiple of patchSize");
        if (channels < 1) throw new IllegalArgumentException("channels must be >= 1");
        if (moe == null) moe = MoeConfig.dense();
        if (itcDim < 0) throw new IllegalArgumentException("itcDim must be >= 0 (0: no image-text alignment heads)");
    }

    /** Whether the model has the image-text contrastive heads (itcDim > 0; older configs have none). */
    public boolean aligned() { return itcDim > 0; }

    public int headDim() { return dModel / nHeads; }

    public int patches() { return (imageSize / patchSize) * (imageSize / patchSize); }

    public int patchDim() { return channels * patchSize * patchSize; }

    public M6Config withVocab(int v) {
        return new M6Config(name, v, dModel, nLayers, nHeads, dFF, maxTextLen, imageSize, patchSize, channels, moe, shareLayers, itcDim);
    }

    public M6Config withMoe(MoeConfig m) {
        return new M6Config(name, vocabSize, dModel, nLayers, nHeads, dFF, maxTextLen, imageSize, patchSize, channels, m, shareLayers, itcDim);
    }

    public M6Config withShareLayers(boolean share) {
        return new M6Config(name, vocabSize, dModel, nLayers, nHeads, dFF, maxTextLen, imageSize, patchSize, channels, moe, share, itcDim);
    }


    /** Parameter count: total, and active per token (k of E experts in MoE layers). Embedding table counted once (tied head). */
    public long[] parameterCounts() {
        long d = dModel, f = dFF;
        long attn = 4 * d * d + 4 * d;
        long ln = 4 * d;
        long dense = 2 * d * f + f + d;
        long total = (long) vocabSize * d + (long) maxTextLen * d + (long) patches() * d + patchDim() * d + d + 2 * d;
        total += 2L * itcDim * d + (itcDim > 0 ? 1 : 0);
        long active = total;
        for (int l = 0; l < nLayers; l++) {
            long blk = attn + ln;
            if (moe.isMoeLayer(l)) {
                long w = (long) moe.sharedExperts() * f, shared = w == 0 ? 0 : 2 * d * w + w + d;   // always on
                long router = moe.experts() * d + (moe.biasUpdateRate() > 0 ? moe.experts() : 0);
                total += blk + moe.experts() * dense + router + shared;
                active += blk + moe.k() * dense + router + shared;
            } else {
                total += blk + dense;
                active += blk + dense;
            }
        }
        return new long[]{total, active};
    }
}
