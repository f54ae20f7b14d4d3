package m6j.offload;

import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The plan's units indexed for lookup: per layer the unit of its dense part and of each expert, per offloaded
 * parameter the slices (unit, piece) it is cut into and its full shape. Read-only; holds no tensors.
 */
final class UnitIndex {
    /** One slice of an offloaded parameter: this piece of that unit. */
    record Slot(int unit, OffloadPlan.Piece piece) {}

    final OffloadPlan plan;
    private final Map<String, List<Slot>> slots = new HashMap<>();
    private final Map<String, long[]> fullShape = new HashMap<>();
    private final int[] dense;                  // per layer: the unit index of its dense part, or -1
    private final int[][] expert;               // per layer: unit index per expert (MoE blocks)

    UnitIndex(OffloadPlan plan) {
        this.plan = plan;
        int layers = plan.managed().length;
        dense = new int[layers];
        Arrays.fill(dense, -1);
        expert = new int[layers][];
        for (int i = 0; i < plan.units().size(); i++) {
            OffloadPlan.Unit u = plan.units().get(i);
            if (u.expert() < 0) dense[u.layer()] = i;
            else {
                int[] e = expert[u.layer()];
                if (e == null || e.length <= u.expert()) expert[u.layer()] = e = e == null ? new int[u.expert() + 1] : Arrays.copyOf(e, u.expert() + 1);
                e[u.expert()] = i;
            }
            for (OffloadPlan.Piece p : u.pieces()) slots.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(new Slot(i, p));
        }
        slots.forEach((name, ss) -> {
            OffloadPlan.Piece p = ss.get(0).piece();
            if (ss.size() == 1 && ss.get(0).piece().start() == 0 && plan.units().get(ss.get(0).unit()).expert() < 0) fullShape.put(name, p.shape());
            else {
                long[] s = new long[p.shape().length + 1];
                s[0] = ss.size();
                System.arraycopy(p.shape(), 0, s, 1, p.shape().length);
                fullShape.put(name, s);
            }
        });
    }

    OffloadPlan.Unit unit(int u) { return plan.units().get(u); }

    int unitCount() { return plan.units().size(); }

    int layers() { return dense.length; }

    /** The unit of layer's dense part, or -1. */
    int dense(int layer) { return dense[layer]; }

    /** Per expert of layer, its unit (null: not a MoE block). */
    int[] experts(int layer) { return expert[layer]; }

    boolean manages(String name) { return slots.containsKey(name); }

    /** The parameters the plain optimizer keeps (everything not offloaded). */
    Map<String, Tensor> resident(Map<String, Tensor> all) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (!manages(k)) out.put(k, t); });
        return out;
    }

    Set<String> names() { return slots.keySet(); }

    /** The slices of offloaded parameter name, null if it is not offloaded. */
    List<Slot> slots(String name) { return slots.get(name); }

    long[] fullShape(String name) { return fullShape.get(name); }
}
