package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.model.Lora;
import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Folds a LoRA checkpoint into its base: a full checkpoint that loads without the adapter. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Fold a LoRA adapter (a finetune --lora checkpoint or run) into its base model: writes a full checkpoint.")
public final class MergeCommand implements Callable<Integer> {
    @Mixin Common common;
    @Option(names = {"-m", "--adapter"}, required = true, description = "Adapter checkpoint or finetune run directory.") Path adapter;
    @Option(names = {"-o", "--out"}, required = true, description = "Directory for the merged checkpoint (must not exist).") Path out;

    @Override public Integer call() throws Exception {
        common.init();
        Path dir = Checkpoint.resolve(adapter);
        if (!Lora.in(dir)) throw new IllegalArgumentException(dir + " holds no adapter (" + Lora.CONFIG + ")");
        if (Files.exists(out)) throw new IllegalArgumentException(out + " exists; give a new directory");
        Checkpoint.Loaded l = Checkpoint.load(dir);                     // the base with the adapter folded in
        Path tmp = Checkpoint.staging(out);
        FileTrees.delete(tmp);
        FileTrees.createDirectories(tmp);
        Safetensors.write(tmp.resolve(Checkpoint.MODEL), l.model().params.named(), Checkpoint.metadata(0));
        Checkpoint.writeDescription(tmp, l.model().config, l.tokenizer(), Json.MAPPER.createObjectNode().put("mergedFrom", dir.toAbsolutePath().toString()));
        FileTrees.commit(tmp, out);                                     // fsynced, then renamed: whole or absent
        System.out.println("m6j: merged " + dir + " into " + Lora.describe(dir).base() + " -> " + out);
        return 0;
    }
}
