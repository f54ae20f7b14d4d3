package m6j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/** Small conversions between Java arrays and libtorch tensors; the one place that knows JavaCPP's quirks. */
public final class Tensors {
    private Tensors() {}

    public static Scalar scalar(double v) { return new Scalar(v); }

    public static Tensor longs(long[] data, long... shape) { return Tensor.create(data, shape); }

    public static Tensor floats(float[] data, long... shape) { return Tensor.create(data, shape); }

    public static Tensor bools(boolean[] data, long... shape) { return Tensor.create(data, shape); }

    /** A new leaf tensor with values ~ N(0, std^2) in the given dtype (uses the torch generator). */
    public static Tensor normal(double std, ScalarType dtype, long... shape) {
        try (Tensor r = torch.randn(shape)) {            // closed now: a handle left to the GC pins the data
            return r.to(dtype).mul_(scalar(std));
        }
    }

    /** Rows [first, first+n) of t along dim 0 as a new tensor (t itself when that is all of it); t's handle is consumed. */
    public static Tensor rows(Tensor t, long first, long n) {
        if (first == 0 && n == t.size(0)) return t;
        try (t; Tensor part = t.narrow(0, first, n)) {
            return part.clone();
        }
    }

    public static Tensor zeros(ScalarType dtype, long... shape) {
        try (Tensor z = torch.zeros(shape)) { return z.to(dtype); }
    }

    public static Tensor ones(ScalarType dtype, long... shape) {
        try (Tensor o = torch.ones(shape)) { return o.to(dtype); }
    }

    public static TensorOptional opt(Tensor t) { return t == null ? new TensorOptional() : new TensorOptional(t); }

    public static TensorVector vector(Tensor... ts) {
        TensorVector v = new TensorVector();
        for (Tensor t : ts) v.push_back(t);
        return v;
    }

    /** Backward with an explicit gradient, for staged (non-autograd-linked) pieces. */
    public static void backward(Tensor out, Tensor grad) {
        out.backward(grad, new BoolOptional(), false, new TensorArrayRefOptional());
    }

    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().cpu().to(ScalarType.Float).contiguous();
        float[] out = new float[(int) c.numel()];
        c.data_ptr_float().get(out);
        return out;
    }

    public static double[] toDoubles(Tensor t) {
        Tensor c = t.detach().cpu().to(ScalarType.Double).contiguous();
        double[] out = new double[(int) c.numel()];
        c.data_ptr_double().get(out);
        return out;
    }

    public static long[] toLongs(Tensor t) {
        Tensor c = t.detach().cpu().to(ScalarType.Long).contiguous();
        long[] out = new long[(int) c.numel()];
        c.data_ptr_long().get(out);
        return out;
    }

    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) s[i] = t.size(i);
        return s;
    }

    /** Raw little-endian bytes of a contiguous CPU tensor (for safetensors). */
    public static byte[] bytes(Tensor t) {
        Tensor c = t.detach().cpu().contiguous();
        long n = c.nbytes();
        byte[] out = new byte[Math.toIntExact(n)];
        new BytePointer(c.data_ptr()).capacity(n).get(out);
        return out;
    }

    /** A new tensor holding a copy of raw little-endian bytes. */
    public static Tensor fromBytes(byte[] data, ScalarType dtype, long... shape) {
        Tensor t = torch.empty(shape).to(dtype);
        if (t.nbytes() != data.length)
            throw new IllegalArgumentException("byte length " + data.length + " does not match shape/dtype (" + t.nbytes() + ")");
        new BytePointer(t.data_ptr()).capacity(data.length).put(data);
        return t;
    }
}
