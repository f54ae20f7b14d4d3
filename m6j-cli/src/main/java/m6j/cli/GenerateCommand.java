package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a text prompt (English or Chinese); the prompt is read bidirectionally as the prefix.")
public final class GenerateCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin SamplingOptions sampling;

    @Mixin ModelOption model;

    @Option(names = "--max-tokens", defaultValue = "48", description = "Most tokens to generate.")
    int maxTokens;

    @Option(names = "-n", defaultValue = "1", description = "Number of samples.")
    int n;

    @Option(names = "--stop", description = "End the text before this sequence (repeatable).")
    List<String> stop = new ArrayList<>();

    @Parameters(index = "0", paramLabel = "PROMPT")
    String prompt;

    @Override public Integer call() throws Exception {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be >= 1");
        if (n < 1) throw new IllegalArgumentException("-n must be >= 1");
        Sampling s = sampling.sampling();
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        for (String c : complete(l, prompt, maxTokens, n, s, stop)) System.out.println(prompt + c);
        return 0;
    }

    /** n continuations of a prompt; sample i uses seed + i. */
    static List<String> complete(Checkpoint.Loaded l, String prompt, int maxTokens, int n, Sampling s) throws InterruptedException {
        return complete(l, prompt, maxTokens, n, s, List.of());
    }

    /** The same, each text ending before the first of the stop sequences. */
    static List<String> complete(Checkpoint.Loaded l, String prompt, int maxTokens, int n, Sampling s, List<String> stop) throws InterruptedException {
        try (Engine e = Engine.local(l.model(), l.tokenizer())) {
            int[] prefix = e.prompt(prompt);
            List<Request> reqs = new ArrayList<>();
            for (int i = 0; i < n; i++)
                reqs.add(Request.text(i, prefix, null, maxTokens, new Sampling(s.temperature(), s.topK(), s.topP(), s.seed() + i)).stop(stop));
            List<String> out = new ArrayList<>();
            for (Event.Done d : e.run(reqs)) out.add(d.text());
            return out;
        }
    }
}
