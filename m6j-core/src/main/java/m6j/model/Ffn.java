package m6j.model;

import org.bytedeco.pytorch.Tensor;

/** A block's feed-forward part: dense or mixture of experts. x (B, S, d) -> (B, S, d). */
interface Ffn {
    Tensor forward(Tensor x, ForwardContext ctx);
}
