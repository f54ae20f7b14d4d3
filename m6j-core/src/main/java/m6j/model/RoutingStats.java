package m6j.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tokens routed to each expert of each MoE layer, and how many were dropped for capacity. */
public final class RoutingStats {
    private final Map<Integer, long[]> load = new LinkedHashMap<>();
    private final Map<Integer, long[]> dropped = new LinkedHashMap<>(); // {dropped, assignments}

    synchronized void record(int layer, long[] perExpert, long droppedCount, long assignments) {
        long[] l = load.computeIfAbsent(layer, k -> new long[perExpert.length]);
        for (int i = 0; i < l.length; i++) l[i] += perExpert[i];
        long[] d = dropped.computeIfAbsent(layer, k -> new long[2]);
        d[0] += droppedCount;
        d[1] += assignments;
    }

    public Map<Integer, long[]> load() { return load; }

    public double dropRate(int layer) {
        long[] d = dropped.get(layer);
        return d == null || d[1] == 0 ? 0 : (double) d[0] / d[1];
    }

    /** Fraction of kept assignments per expert. */
    public double[] loadShare(int layer) {
        long[] l = load.get(layer);
        long tot = Arrays.stream(l).sum();
        return Arrays.stream(l).mapToDouble(x -> tot == 0 ? 0 : (double) x / tot).toArray();
    }

    public String summary() {
        StringBuilder sb = new StringBuilder();
        for (int layer : load.keySet()) {
            double[] s = loadShare(layer);
            sb.append(String.format("layer %d: drop %.2f%%, load", layer, 100 * dropRate(layer)));
            for (double x : s) sb.append(String.format(" %.3f", x));
            sb.append('\n');
        }
        return sb.toString();
    }
}
