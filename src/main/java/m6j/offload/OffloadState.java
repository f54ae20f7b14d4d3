package m6j.offload;

import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Checkpoint I/O for an offloaded run: offloaded tensors stream between safetensors files and the tiers. */
final class OffloadState {
    private final Offloader off;
    private final Tiers tiers;

    OffloadState(Offloader off) {
        this.off = off;
        this.tiers = off.tiers();
    }

    /** prefix "" (weights), "m." or "v." (Adam moments). */
    List<Safetensors.Entry> entries(Map<String, Tensor> tensors, String prefix) {
        Tiers.Kind kind = prefix.isEmpty() ? Tiers.Kind.P : prefix.equals("m.") ? Tiers.Kind.M : Tiers.Kind.V;
        List<Safetensors.Entry> out = new ArrayList<>();
        tensors.forEach((k, t) -> {
            if (!k.startsWith(prefix) || !off.manages(k.substring(prefix.length()))) out.add(Safetensors.Entry.of(k, t));
        });
        for (String name : off.offloadedNames().stream().sorted().toList())
            out.add(new Safetensors.Entry(prefix + name, torch.ScalarType.Float, off.fullShape(name),
                    () -> off.onIoThread(() -> gather(name, kind)), true));
        return out;
    }

    private Tensor gather(String name, Tiers.Kind kind) {
        Tensor t = torch.empty(off.fullShape(name));
        try (Tensor flat = t.view(-1)) {
            for (int[] s : off.slotUnits(name)) {
                OffloadPlan.Piece p = off.plan().units().get(s[0]).pieces().get(s[1]);
                try (Tensor part = flat.narrow(0, p.start(), p.numel())) {
                    tiers.readInto(s[0], kind, p.offset(), part);
                }
            }
        }
        return t;
    }

    void load(Safetensors.Reader model, Safetensors.Reader optimizer) throws IOException {
        Tiers.Kind[] kinds = {Tiers.Kind.P, Tiers.Kind.M, Tiers.Kind.V};
        for (String name : off.offloadedNames()) {
            String[] keys = {name, "m." + name, "v." + name};
            for (int i = 0; i < 3; i++) {
                Safetensors.Reader r = i == 0 ? model : optimizer;
                if (!Arrays.equals(r.info(keys[i]).shape(), off.fullShape(name)))
                    throw new IOException("tensor '" + keys[i] + "' has shape " + Arrays.toString(r.info(keys[i]).shape())
                            + ", model expects " + Arrays.toString(off.fullShape(name)));
                for (int[] s : off.slotUnits(name)) {
                    OffloadPlan.Piece p = off.plan().units().get(s[0]).pieces().get(s[1]);
                    try (Tensor buf = torch.empty(p.numel())) {
                        r.readInto(keys[i], p.start(), buf);
                        tiers.write(s[0], kinds[i], p.offset(), buf);
                    }
                }
            }
        }
    }
}
