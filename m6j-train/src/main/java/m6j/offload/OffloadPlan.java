package m6j.offload;

import m6j.model.ExpertShard;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where each piece of training state lives under a memory budget. Units of placement: a block's dense part
 * (attention, norms, router or dense FFN) and each expert of a MoE block. Every unit's weight, gradient and two
 * Adam moments (16 bytes per parameter in fp32) live together in one tier: RAM or DISK. Blocks whose units all fit
 * stay plain resident tensors; the others go through the {@link WeightStore}, which needs a working set of about one
 * block's state for weights being used, their gradients and the next block's prefetch.
 */
public record OffloadPlan(long budget, List<String> resident, List<Unit> units, boolean[] managed, long residentBytes,
                          long workingBytes, long ramUnitBytes, long diskUnitBytes) {
    public static final long STATE = 16;              // bytes per fp32 parameter: weight, grad, Adam m and v

    /** A slice of a parameter: a whole tensor (expert -1) or one expert's row of a batched expert tensor. */
    public record Piece(String name, long start, long[] shape, long numel, long offset, boolean decay) {}

    /** Placement unit. onDisk: its state lives in the tier files at fileOffset (bytes), else in RAM. */
    public record Unit(int layer, int expert, List<Piece> pieces, long numel, boolean onDisk) {}

    /** A plan for config c under budget bytes; a budget too small for the fixed part is a usage error naming it. */
    public static OffloadPlan of(M6Config c, long budget) {
        if (c.shareLayers()) throw new IllegalArgumentException("--memory-budget does not work with --share-layers (all blocks are one)");
        M6Model meta = new M6Model(c, ScalarType.Float, 0, new Device("meta"), ExpertShard.ALL);
        List<String> globals = new ArrayList<>();
        Map<Integer, Map<Integer, List<Piece>>> pieces = new TreeMap<>();    // layer -> expert (-1: dense part) -> pieces
        long globalNumel = 0;
        for (var e : meta.params.named().entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            long[] shape = Tensors.shape(t);
            if (!name.startsWith("blocks.")) {
                globals.add(name);
                globalNumel += t.numel();
                continue;
            }
            Map<Integer, List<Piece>> layer = pieces.computeIfAbsent(Integer.parseInt(name.split("\\.")[1]), k -> new TreeMap<>());
            boolean decay = shape.length >= 2;                  // as AdamW: matrices (batched expert tensors too)
            if (meta.params.isSharded(name)) {                  // (E, ...): one piece per expert row
                long[] row = Arrays.copyOfRange(shape, 1, shape.length);
                long rowNumel = t.numel() / shape[0];
                for (int x = 0; x < shape[0]; x++) {
                    List<Piece> ps = layer.computeIfAbsent(x, k -> new ArrayList<>());
                    ps.add(new Piece(name, x * rowNumel, row, rowNumel, numel(ps), decay));
                }
            } else {
                List<Piece> ps = layer.computeIfAbsent(-1, k -> new ArrayList<>());
                ps.add(new Piece(name, 0, shape, t.numel(), numel(ps), decay));
            }
        }
        Map<Integer, List<Unit>> byLayer = new TreeMap<>();
        pieces.forEach((layer, units) -> units.forEach((expert, ps) ->
                byLayer.computeIfAbsent(layer, k -> new ArrayList<>()).add(new Unit(layer, expert, List.copyOf(ps), numel(ps), false))));
        long fixed = STATE * globalNumel, all = fixed, maxBlock = 0;
        for (List<Unit> us : byLayer.values()) {
            long n = us.stream().mapToLong(Unit::numel).sum();
            all += STATE * n;
            maxBlock = Math.max(maxBlock, n);
        }
        int layers = c.nLayers();
        boolean[] managed = new boolean[layers];
        List<Unit> placed = new ArrayList<>();
        if (all <= budget) return new OffloadPlan(budget, names(meta), placed, managed, all, 0, 0, 0);
        long working = STATE * maxBlock;
        if (fixed + working > budget)
            throw new IllegalArgumentException(String.format(
                    "--memory-budget %s is too small for %s: embeddings and other always-resident tensors need %s and one block's working set %s",
                    mib(budget), c.name(), mib(fixed), mib(working)));
        long free = budget - fixed - working, resident = fixed, ram = 0, disk = 0;
        Set<String> residentNames = new LinkedHashSet<>(globals);
        int l = 0;
        for (; l < layers; l++) {                               // whole blocks, first to last, while they fit
            long n = byLayer.get(l).stream().mapToLong(Unit::numel).sum();
            if (STATE * n > free) break;
            free -= STATE * n;
            resident += STATE * n;
            for (Unit u : byLayer.get(l)) for (Piece p : u.pieces()) residentNames.add(p.name());
        }
        List<Unit> rest = new ArrayList<>();
        for (int k = l; k < layers; k++) {
            managed[k] = true;
            rest.addAll(byLayer.get(k));
        }
        rest.sort(Comparator.comparingInt((Unit u) -> u.expert() < 0 ? 0 : 1));   // dense parts first: every step reads them
        for (Unit u : rest) {
            boolean fits = STATE * u.numel() <= free;
            if (fits) { free -= STATE * u.numel(); ram += STATE * u.numel(); } else disk += STATE * u.numel();
            placed.add(new Unit(u.layer(), u.expert(), u.pieces(), u.numel(), !fits));
        }
        placed.sort(Comparator.comparingInt(Unit::layer).thenComparingInt(Unit::expert));
        return new OffloadPlan(budget, List.copyOf(residentNames), placed, managed, resident, working, ram, disk);
    }

    private static List<String> names(M6Model m) { return new ArrayList<>(m.params.named().keySet()); }

    private static long numel(List<Piece> ps) { return ps.stream().mapToLong(Piece::numel).sum(); }

    public boolean offloads() { return !units.isEmpty(); }

    static String mib(long bytes) { return String.format("%.0f MiB", bytes / 1048576.0); }

    /** One line for the log. */
    public String summary() {
        if (!offloads()) return "m6j: offload: the whole training state fits in " + mib(budget) + "; nothing offloaded";
        int blocks = 0;
        for (boolean b : managed) if (b) blocks++;
        long onDisk = units.stream().filter(Unit::onDisk).count();
        return String.format("m6j: offload: budget %s: resident %s (embeddings + %d whole blocks), %d blocks offloaded as %d units"
                        + " (%d in RAM, %s; %d on disk, %s), working set %s",
                mib(budget), mib(residentBytes), managed.length - blocks, blocks, units.size(), units.size() - onDisk,
                mib(ramUnitBytes), onDisk, mib(diskUnitBytes), mib(workingBytes));
    }
}
