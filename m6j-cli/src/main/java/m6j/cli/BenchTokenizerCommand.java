package m6j.cli;

import m6j.data.TokenizerBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Train a BPE tokenizer on text files (90%% of each, 10%% held out): training time, encode/decode MB/s, "
                + "bytes per token and tokens per Han character on the held-out English and Chinese text.")
public final class BenchTokenizerCommand implements Callable<Integer> {
    @Option(names = "--vocab", defaultValue = "8000", description = "Vocabulary size (default: ${DEFAULT-VALUE}).") int vocab;
    @Option(names = "--out", defaultValue = "work/bench-tokenizer.json", description = "Where the trained tokenizer goes.") Path out;
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "UTF-8 text files.") List<Path> files;

    @Override public Integer call() throws Exception {
        if (vocab < 300) throw new IllegalArgumentException("--vocab must be >= 300");
        for (Path f : files) if (!Files.isRegularFile(f)) throw new IllegalArgumentException("no such file: " + f);
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        TokenizerBench.run(vocab, out, files);
        return 0;
    }
}
