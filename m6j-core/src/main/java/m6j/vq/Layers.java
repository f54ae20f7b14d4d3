package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The conv building blocks of the VQGAN, as functions over named weights. Tensors are (B, C, H, W). */
final class Layers {
    private Layers() {}


    /** A k x k conv (stride s, "same"-style padding for odd k, padding 1 for k = 4 stride 2). */
    record Conv(Tensor w, Tensor b, int stride, int pad) {
        Tensor apply(Tensor x) {
            long out = w.size(0);
            if (out >= MIN_OUT)
                return torch.conv2d(x, w, Tensors.opt(b), new long[]{stride, stride}, new long[]{pad, pad}, new long[]{1, 1}, 1);
            // oneDNN's backward returned NaN input gradients for convs with fewer than 16 output channels
            // (docs/ENGINE.md 6): run them with zero-padded output channels and keep the real ones.
            Tensor wp = torch.cat(Tensors.vector(w, torch.zeros(MIN_OUT - out, w.size(1), w.size(2), w.size(3))), 0);
            Tensor bp = torch.cat(Tensors.vector(b, torch.zeros(MIN_OUT - out)), 0);
            return torch.conv2d(x, wp, Tensors.opt(bp), new long[]{stride, stride}, new long[]{pad, pad}, new long[]{1, 1}, 1)
                    .narrow(1, 0, out);
        }
    }

    static final int MIN_OUT = 16;

    static Conv conv(Weights ws, String name, int in, int out, int k, int stride) {
        int pad = k == 4 ? 1 : k / 2;
        return new Conv(ws.conv(name + ".weight", out, in, k), ws.zeros(name + ".bias", out), stride, pad);
    }

    /** Group norm (8 groups) with affine weights. */
    record Norm(Tensor w, Tensor b, int groups) {
        Tensor apply(Tensor x) { return torch.group_norm(x, groups, Tensors.opt(w), Tensors.opt(b), 1e-5, true); }
    }

    static Norm norm(Weights ws, String name, int ch) {
        return new Norm(ws.ones(name + ".weight", ch), ws.zeros(name + ".bias", ch), Math.min(8, ch));
    }

    /** x + conv(silu(norm(conv(silu(norm(x)))))): channels unchanged. */
    record Res(Norm n1, Conv c1, Norm n2, Conv c2) {
        Tensor apply(Tensor x) {
            Tensor h = c1.apply(torch.silu(n1.apply(x)));
            h = c2.apply(torch.silu(n2.apply(h)));
            return x.add(h);
        }
    }

    static Res res(Weights ws, String name, int ch) {
        return new Res(norm(ws, name + ".norm1", ch), conv(ws, name + ".conv1", ch, ch, 3, 1),
                norm(ws, name + ".norm2", ch), conv(ws, name + ".conv2", ch, ch, 3, 1));
    }

    /** Nearest-neighbour 2x upsampling: (B, C, H, W) -> (B, C, 2H, 2W). */
    static Tensor up2(Tensor x) {
        return torch.upsample_nearest2d(x, x.size(2) * 2, x.size(3) * 2);
    }
}
