package m6j.task;

import m6j.model.PrefixMask;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * A padded batch ready for the model. images: uint8 (B, H, W, C) or null; tokens (B, T); mask (B, 1, S, S);
 * lossPositions: flat indices into (B*S) whose hidden state predicts targets[i]. Only those positions reach
 * the LM head, so image patches and padding cost no vocabulary projection.
 */
public record Batch(Objective objective, Tensor images, Tensor tokens, Tensor mask,
                    Tensor lossPositions, Tensor targets, int targetCount, long positions) {

    /** RGB uint8 images (imageSize^2 * channels bytes each) -> one (B, H, W, C) uint8 tensor. */
    public static Tensor images(List<byte[]> images, int imageSize, int channels) {
        int per = imageSize * imageSize * channels;
        byte[] all = new byte[images.size() * per];
        for (int i = 0; i < images.size(); i++) {
            if (images.get(i).length != per) throw new IllegalArgumentException("image has " + images.get(i).length + " bytes, expected " + per);
            System.arraycopy(images.get(i), 0, all, i * per, per);
        }
        return Tensor.create(all, false, images.size(), imageSize, imageSize, channels);
    }

    /** Collates sequences (and their images, if any: each imageSize*imageSize*channels bytes). */
    public static Batch of(Objective objective, List<Sequence> seqs, List<byte[]> images, int imageSize, int channels, int patches) {
        int b = seqs.size(), t = 0;
        for (Sequence s : seqs) t = Math.max(t, s.input().length);
        int p = images == null ? 0 : patches, sLen = p + t;
        long[] ids = new long[b * t];                          // padded with 0 = <pad>
        int[] prefix = new int[b];
        int count = 0;
        for (Sequence s : seqs) for (int x : s.target()) if (x >= 0) count++;
        long[] pos = new long[count], tgt = new long[count];
        int k = 0;
        for (int i = 0; i < b; i++) {
            Sequence s = seqs.get(i);
            for (int j = 0; j < s.input().length; j++) {
                ids[i * t + j] = s.input()[j];
                if (s.target()[j] >= 0) {
                    pos[k] = (long) i * sLen + p + j;
                    tgt[k++] = s.target()[j];
                }
            }
            prefix[i] = p + s.prefixText();
        }
        Tensor img = images == null ? null : images(images, imageSize, channels);
        return new Batch(objective, img, Tensors.longs(ids, b, t), PrefixMask.of(prefix, sLen, 0),
                Tensors.longs(pos, count), Tensors.longs(tgt, count), count, (long) b * sLen);
    }
}
