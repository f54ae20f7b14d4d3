package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.infer.Generator;
import m6j.infer.Sampling;
import m6j.model.ForwardContext;
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

    @Parameters(index = "0", paramLabel = "PROMPT")
    String prompt;

    @Override public Integer call() throws Exception {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be >= 1");
        if (n < 1) throw new IllegalArgumentException("-n must be >= 1");
        Sampling s = sampling.sampling();
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        for (String c : complete(l, prompt, maxTokens, n, s)) System.out.println(prompt + c);
        return 0;
    }

    /** n continuations of a prompt; sample i uses seed + i. */
    static List<String> complete(Checkpoint.Loaded l, String prompt, int maxTokens, int n, Sampling s) {
        Tokenizer tok = l.tokenizer();
        int[] ids = tok.encode(prompt);
        int[] prefix = new int[ids.length + 1];
        prefix[0] = tok.id(Tokenizer.BOS);
        System.arraycopy(ids, 0, prefix, 1, ids.length);
        List<String> out = new ArrayList<>();
        Generator g = new Generator(l.model(), tok);
        for (int i = 0; i < n; i++) {
            Sampling si = new Sampling(s.temperature(), s.topK(), s.topP(), s.seed() + i);
            out.add(tok.decode(g.generate(null, new int[][]{prefix}, maxTokens, si, ForwardContext.eval())[0]));
        }
        return out;
    }
}
