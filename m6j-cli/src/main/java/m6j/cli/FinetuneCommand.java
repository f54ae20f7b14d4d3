package m6j.cli;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Split;
import m6j.model.Lora;
import m6j.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Fine-tuning: the train command started from a checkpoint (its weights and tokenizer) on the user's corpus, with a
 * mixture chosen by task, training all weights or low-rank adapters (--lora R, the base frozen). Checkpoints, progress,
 * metrics, --resume and --dp are the train command's.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Adapt a trained checkpoint to your corpus and task: all weights, or low-rank adapters with --lora R.")
public final class FinetuneCommand extends TrainCommand {
    /** What each task trains (the objectives' weights), unless --mixture is given. */
    static final Map<String, String> TASKS = Map.of(
            "caption", "itt=1",
            "chat", "vqa=0.7,itt=0.3",                     // with prompt/completion records: + chat (below)
            "t2i", "t2i=1",
            "classify", "classify=1",
            "mix", "itt=0.4,vqa=0.2,mtt=0.1,denoise=0.1,lm=0.2");

    @Spec CommandSpec spec;

    @Option(names = "--from", required = true, description = "Checkpoint or run directory to start from.") Path from;
    @Option(names = "--task", defaultValue = "caption", description = "caption, chat (questions about images, prompt -> completion), classify (text/image -> label words), t2i or mix (default: ${DEFAULT-VALUE}).") String task;
    @Option(names = "--lora", defaultValue = "0", description = "LoRA rank (0 = fine-tune all weights).") int loraRank;
    @Option(names = "--lora-alpha", description = "LoRA alpha (default: 2 x rank); the update is scaled by alpha / rank.") Double loraAlpha;
    @Option(names = "--lora-dropout", defaultValue = "0.05", description = "Dropout on the adapters' input (default: ${DEFAULT-VALUE}).") double loraDropout;
    @Option(names = "--lora-targets", defaultValue = "qkv,proj,fc1,fc2,w1,w2,patch,tok", split = ",",
            description = "Matrices to adapt (default: ${DEFAULT-VALUE}).") List<String> loraTargets;

    /** chat: questions about the corpus's images, and its own prompt -> completion pairs, whichever it has. */
    private String chatMixture() {
        List<Example> train;
        try {
            train = Corpus.open(corpus).examples(Split.TRAIN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean images = train.stream().anyMatch(Example::hasImage), pairs = train.stream().anyMatch(e -> !e.hasImage() && e.hasPrompt());
        if (images && pairs) return "vqa=0.4,itt=0.2,chat=0.4";
        if (pairs) return "chat=1";
        if (images) return TASKS.get("chat");
        throw new IllegalArgumentException("--task chat needs images or prompt/completion records in " + corpus);
    }

    @Override TrainOptions.Builder builder() {
        String mix = TASKS.get(task);
        if (mix == null) throw new IllegalArgumentException("unknown --task '" + task + "' (one of " + String.join(", ", TASKS.keySet().stream().sorted().toList())
                + ")");
        TrainOptions.Builder b = super.builder().from(from);
        if (!spec.commandLine().getParseResult().hasMatchedOption("--mixture")) b.mixture(task.equals("chat") ? chatMixture() : mix);
        if (loraRank < 0) throw new IllegalArgumentException("--lora must be >= 0");
        if (loraRank > 0) b.lora(new Lora.Config(loraRank, loraAlpha != null ? loraAlpha : 2.0 * loraRank, loraDropout, loraTargets));
        return b;
    }
}
