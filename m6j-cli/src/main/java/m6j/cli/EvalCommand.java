package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.Source;
import m6j.infer.Evaluator;
import m6j.infer.Retrieval;
import m6j.runtime.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true, subcommands = {EvalImagineCommand.class, EvalChatCommand.class, EvalClassifyCommand.class},
        description = "Held-out caption accuracy, text perplexity per source (vs a unigram baseline) and MoE routing stats.")
public final class EvalCommand implements Callable<Integer> {
    @Mixin Common common;

    @Mixin ModelOption model;

    @Option(names = "--corpus", defaultValue = "work/corpus", description = "Corpus directory (default: ${DEFAULT-VALUE}).")
    Path corpus;

    @Option(names = "--max-captions", defaultValue = "1000", description = "Held-out images per source.")
    int maxCaptions;

    @Option(names = "--max-texts", defaultValue = "500", description = "Held-out texts per source.")
    int maxTexts;

    @Override public Integer call() throws Exception {
        if (maxCaptions < 1 || maxTexts < 1) throw new IllegalArgumentException("--max-captions and --max-texts must be >= 1");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Evaluator.Report r = new Evaluator(l.model(), l.tokenizer(), Corpus.open(corpus)).run(maxCaptions, maxTexts);
        print(r, System.out);
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(l.dir().resolve("eval.json").toFile(), r);
        System.out.println("m6j: wrote " + l.dir().resolve("eval.json"));
        return 0;
    }

    static void print(Evaluator.Report r, PrintStream out) {
        out.println("Held-out captioning (greedy):");
        for (Evaluator.CaptionResult c : r.captions()) {
            out.printf("  %-15s %5d images  %s %.1f%%%n", c.source().id(), c.total(),
                    c.byClass() ? "names the right class" : "exact caption", 100 * c.accuracy());
            for (String[] s : c.samples().subList(0, Math.min(4, c.samples().size())))
                out.printf("      %-28s -> %-32s [%s]%n", '"' + s[1] + '"', '"' + s[2] + '"', s[3]);
        }
        out.println("Held-out visual chat (greedy answers to \"" + Evaluator.QUESTION + "\"):");
        for (Evaluator.CaptionResult c : r.answers()) {
            out.printf("  %-15s %5d images  %s %.1f%%%s%n", c.source().id(), c.total(),
                    c.byClass() ? "names the right class" : "exact caption", 100 * c.accuracy(),
                    c.empty() > 0 ? "  (" + c.empty() + " answers empty)" : ", no answer empty");
            for (String[] s : c.samples().subList(0, Math.min(2, c.samples().size())))
                out.printf("      %-28s -> %-32s [%s]%n", '"' + s[1] + '"', '"' + s[2] + '"', s[3]);
        }
        out.println("Held-out text perplexity (tokens; model vs add-one unigram fitted on the train split):");
        for (Evaluator.PerplexityResult p : r.perplexity())
            out.printf("  %-15s %7d tokens  model %8.1f   unigram %8.1f   %s%n", p.source().id(), p.tokens(), p.perplexity(),
                    p.unigramPerplexity(), p.perplexity() < p.unigramPerplexity() ? "below baseline" : "NOT below baseline");
        out.println("Held-out retrieval (exact cosine search; recall@1/5/10, or precision for class->image; chance @1 and @10):");
        for (var e : r.retrieval().entrySet())
            for (Retrieval.Result x : e.getValue())
                out.printf("  %-7s %-14s %-30s %5d queries over %5d  %.3f %.3f %.3f  chance %.3f %.3f%n", e.getKey(), x.source(), x.task(),
                        x.queries(), x.gallery(), x.at1(), x.at5(), x.at10(), x.chance1(), x.chance10());
        for (Evaluator.CaptionResult c : r.captions()) {                     // the two routes to a class, side by side
            if (!c.byClass()) continue;
            for (var e : r.retrieval().entrySet())
                e.getValue().stream().filter(x -> x.source().equals(c.source().id()) && x.task().equals("image->class (en)")).findFirst()
                        .ifPresent(x -> out.printf("  %s classification: by captioning %.1f%%, by retrieval from class names (%s) %.1f%%%n",
                                c.source().id(), 100 * c.accuracy(), e.getKey(), 100 * x.at1()));
        }
        if (!r.routing().isEmpty()) {
            out.println("MoE routing on the evaluation passes (drop rate, share of tokens per expert):");
            for (String line : r.routing().split("\n")) out.println("  " + line);
        }
    }
}
