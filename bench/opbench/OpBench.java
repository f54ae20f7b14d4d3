import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
public class OpBench {
    public static void main(String[] a) {
        int threads = Integer.parseInt(a[0]);
        torch.set_num_threads(threads); torch.set_num_interop_threads(1);
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor x = torch.randn(1, 128), y = torch.randn(1, 128), w = torch.randn(384, 128), w2 = torch.randn(512, 128), x32 = torch.randn(32, 128);
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < 20000; i++) try (PointerScope s = new PointerScope()) { x.add(y); }
                long t1 = System.nanoTime();
                for (int i = 0; i < 20000; i++) try (PointerScope s = new PointerScope()) { torch.linear(x, w); }
                long t2 = System.nanoTime();
                for (int i = 0; i < 20000; i++) try (PointerScope s = new PointerScope()) { torch.linear(x32, w2); }
                long t3 = System.nanoTime();
                System.out.printf("threads %d: add (1,128) %.1f us, linear (1,128)x(384,128) %.1f us, linear (32,128)x(512,128) %.1f us%n", threads, (t1-t0)/2e4/1e3, (t2-t1)/2e4/1e3, (t3-t2)/2e4/1e3);
            }
        }
    }
}
