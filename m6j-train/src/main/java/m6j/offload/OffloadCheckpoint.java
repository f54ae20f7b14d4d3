package m6j.offload;

import m6j.checkpoint.Checkpoint;
import m6j.model.M6Model;
import m6j.optim.AdamW;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checkpoint I/O of an offloaded run: offloaded tensors stream between safetensors files and the tiers (P, M, V),
 * one slice at a time, so the whole state need not fit in memory; resident tensors are written and resumed as
 * they are. Holds nothing of its own.
 */
final class OffloadCheckpoint {
    private final UnitIndex index;
    private final Tiers tiers;
    private final IoThread io;

    OffloadCheckpoint(UnitIndex index, Tiers tiers, IoThread io) {
        this.index = index;
        this.tiers = tiers;
        this.io = io;
    }

    /**
     * Checkpoint entries, prefix "" (weights), "m." or "v." (Adam moments): resident tensors as they are, offloaded
     * ones gathered from their tier (on the I/O thread) when written.
     */
    List<Safetensors.Entry> entries(Map<String, Tensor> tensors, String prefix) {
        Tiers.Kind kind = prefix.isEmpty() ? Tiers.Kind.P : prefix.equals("m.") ? Tiers.Kind.M : Tiers.Kind.V;
        List<Safetensors.Entry> out = new ArrayList<>();
        tensors.forEach((k, t) -> {
            if (!k.startsWith(prefix) || !index.manages(k.substring(prefix.length()))) out.add(Safetensors.Entry.of(k, t));
        });
        for (String name : index.names().stream().sorted().toList())
            out.add(new Safetensors.Entry(prefix + name, torch.ScalarType.Float, index.fullShape(name),
                    () -> io.call(() -> gather(name, kind)), true));
        return out;
    }

    private Tensor gather(String name, Tiers.Kind kind) {
        Tensor t = torch.empty(index.fullShape(name));
        try (Tensor flat = t.view(-1)) {
            for (UnitIndex.Slot s : index.slots(name))
                try (Tensor part = flat.narrow(0, s.piece().start(), s.piece().numel())) {
                    tiers.readInto(s.unit(), kind, s.piece().offset(), part);
                }
        }
        return t;
    }

    /**
     * Resume from checkpoint dir: resident weights and Adam moments copied into model and opt (at optStep),
     * offloaded ones streamed into their tiers, one tensor slice at a time.
     */
    void resume(Path dir, M6Model model, AdamW opt, long optStep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith("experts-")))
                throw new IOException(dir + " was written with expert parallelism; resume it without --memory-budget");
        }
        try (Safetensors.Reader mr = new Safetensors.Reader(dir.resolve(Checkpoint.MODEL));
             Safetensors.Reader or = new Safetensors.Reader(dir.resolve(Checkpoint.OPTIMIZER));
             NoGradGuard ng = new NoGradGuard()) {
            Map<String, Tensor> state = new HashMap<>();
            for (var e : index.resident(model.params.named()).entrySet()) {
                Tensor t = mr.read(e.getKey());
                try {
                    e.getValue().copy_(model.params.shardOf(e.getKey(), t, e.getValue(), model.shard, dir.resolve(Checkpoint.MODEL).toString()));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(ex.getMessage(), ex);
                }
                t.close();
                for (String p : new String[]{"m.", "v."}) state.put(p + e.getKey(), or.read(p + e.getKey()));
            }
            opt.load(state, optStep, dir.resolve(Checkpoint.OPTIMIZER).toString());
            state.values().forEach(Tensor::close);
            load(mr, or);
        }
    }

    private void load(Safetensors.Reader model, Safetensors.Reader optimizer) throws IOException {
        Tiers.Kind[] kinds = {Tiers.Kind.P, Tiers.Kind.M, Tiers.Kind.V};
        for (String name : index.names()) {
            String[] keys = {name, "m." + name, "v." + name};
            for (int i = 0; i < 3; i++) {
                Safetensors.Reader r = i == 0 ? model : optimizer;
                if (!Arrays.equals(r.info(keys[i]).shape(), index.fullShape(name)))
                    throw new IOException("tensor '" + keys[i] + "' has shape " + Arrays.toString(r.info(keys[i]).shape())
                            + ", model expects " + Arrays.toString(index.fullShape(name)));
                for (UnitIndex.Slot s : index.slots(name))
                    try (Tensor buf = torch.empty(s.piece().numel())) {
                        r.readInto(keys[i], s.piece().start(), buf);
                        tiers.write(s.unit(), kinds[i], s.piece().offset(), buf);
                    }
            }
        }
    }
}
