package m6j.offload;

import m6j.runtime.NativeIo;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage behind offloaded units: per unit a flat fp32 weight, gradient and the two Adam moments, either as
 * tensors in RAM or at one offset in four files on disk (p.bin, g.bin, m.bin, v.bin). Disk I/O goes straight
 * into tensor memory. Also the ledger of bytes the offload classes hold in working buffers, with its peak.
 */
final class Tiers implements Closeable {
    enum Kind { P, G, M, V }

    private final FileChannel[] files = new FileChannel[4];
    private final List<OffloadPlan.Unit> units;
    private final long[] offset;
    private final Tensor[][] ram;                       // [unit][kind], null for disk units (and absent grads)
    private final AtomicLong held = new AtomicLong(), peak = new AtomicLong();

    Tiers(Path dir, List<OffloadPlan.Unit> units) throws IOException {
        this.units = units;
        offset = new long[units.size()];
        ram = new Tensor[units.size()][];
        long end = 0;
        for (int i = 0; i < units.size(); i++) {
            OffloadPlan.Unit u = units.get(i);
            if (u.onDisk()) {
                offset[i] = end;
                end += 4 * u.numel();
            } else {
                ram[i] = new Tensor[4];
                for (int k : new int[]{0, 2, 3}) ram[i][k] = torch.zeros(u.numel());
            }
        }
        Files.createDirectories(dir);
        for (Kind k : Kind.values()) {
            Path f = dir.resolve(k.name().toLowerCase() + ".bin");
            Files.deleteIfExists(f);
            files[k.ordinal()] = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
            if (end > 0) files[k.ordinal()].write(ByteBuffer.allocate(1), end - 1);   // sized; unwritten = zeros
        }
    }

    boolean onDisk(int u) { return units.get(u).onDisk(); }

    /** Unit u's data of this kind: a RAM unit's own tensor (zeros for an absent gradient), else a new tensor read from disk. */
    Tensor read(int u, Kind k) {
        if (!onDisk(u)) {
            Tensor t = ram[u][k.ordinal()];
            return t != null ? t : alloc(units.get(u).numel(), true);
        }
        Tensor t = alloc(units.get(u).numel(), false);
        readInto(u, k, 0, t);
        return t;
    }

    /** Reads numel(dst) elements of unit u from element offset `from` into dst (contiguous). */
    void readInto(int u, Kind k, long from, Tensor dst) {
        if (!onDisk(u)) {
            try (NoGradGuard ng = new NoGradGuard(); Tensor flat = ram[u][k.ordinal()].narrow(0, from, dst.numel());
                 Tensor src = flat.view(Tensors.shape(dst))) {
                dst.copy_(src);
            }
            return;
        }
        try {
            NativeIo.read(files[k.ordinal()], offset[u] + 4 * from, dst);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes src (contiguous) at element offset `from` of unit u. For RAM units, writing kind G keeps src itself. */
    void write(int u, Kind k, long from, Tensor src) {
        if (!onDisk(u)) {
            Tensor dst = ram[u][k.ordinal()];
            if (dst == null) {                           // a RAM unit's gradient is allocated at its first write
                dst = ram[u][k.ordinal()] = torch.zeros(units.get(u).numel());   // counted in the plan's RAM share
            }
            if (dst != src) try (NoGradGuard ng = new NoGradGuard(); Tensor d = dst.narrow(0, from, src.numel()); Tensor flat = src.reshape(-1)) {
                d.copy_(flat);              // every handle closed at once: a view left to the GC keeps its buffer alive
            }
            return;
        }
        try {
            NativeIo.write(files[k.ordinal()], offset[u] + 4 * from, src);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Frees RAM unit u's gradient tensor (after its update). */
    void dropGrad(int u) {
        if (!onDisk(u) && ram[u][Kind.G.ordinal()] != null) {
            ram[u][Kind.G.ordinal()].close();
            ram[u][Kind.G.ordinal()] = null;
        }
    }

    /** A new flat fp32 tensor counted in the ledger (zeroed when zero is set). */
    Tensor alloc(long numel, boolean zero) {
        Tensor t = zero ? torch.zeros(numel) : torch.empty(numel);
        return track(t);
    }

    Tensor track(Tensor t) {
        long now = held.addAndGet(t.nbytes());
        peak.accumulateAndGet(now, Math::max);
        return t;
    }

    /** Closes a tensor made by alloc/track/read (never a RAM unit's own tensor). */
    void free(Tensor t) {
        if (t == null) return;
        held.addAndGet(-t.nbytes());
        t.close();
    }

    /** Frees a tensor that read() or alloc() gave for unit u, unless it is the unit's own RAM tensor. */
    void release(int u, Tensor t) {
        if (!onDisk(u)) for (Tensor r : ram[u]) if (r == t) return;
        free(t);
    }

    long peakHeld() { return peak.get(); }

    @Override public void close() throws IOException {
        for (FileChannel f : files) if (f != null) f.close();
        for (Tensor[] r : ram) if (r != null) for (Tensor t : r) if (t != null) t.close();
    }
}
