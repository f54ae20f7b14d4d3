package m6j.cli;

import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.CorpusReport;
import m6j.data.DataRoots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** `m6j corpus build`: reads the data sources into shards + corpus.json. */
@Command(name = "corpus", mixinStandardHelpOptions = true, description = "Build and inspect training corpora.",
        subcommands = {CorpusCommand.Build.class})
public final class CorpusCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (try: corpus build)");
    }

    /** Standalone entry point until Main registers the command (m6j corpus ...). */
    public static void main(String[] args) {
        System.exit(new CommandLine(new CorpusCommand()).execute(args));
    }

    public enum From { sample, installed }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Read the sources, write shards and corpus.json, print a summary table.")
    public static final class Build implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--from", defaultValue = "sample",
                description = "sample (data/sample of the repo) or installed (system packages + $M6J_DATA). Default: ${DEFAULT-VALUE}")
        From from;

        @Option(names = "--out", defaultValue = "work/corpus", description = "Output directory. Default: ${DEFAULT-VALUE}")
        Path out;

        @Option(names = "--image-size", defaultValue = "32", description = "Square image side in pixels. Default: ${DEFAULT-VALUE}")
        int imageSize;

        @Option(names = "--seed", defaultValue = "0", description = "Shuffle seed for shard order. Default: ${DEFAULT-VALUE}")
        long seed;

        @Option(names = "--test-fraction", defaultValue = "0.05", description = "Share of hash-split records in TEST. Default: ${DEFAULT-VALUE}")
        double testFraction;

        @Option(names = "--max-per-source", defaultValue = "0", description = "Cap records per source, 0 = all. Default: ${DEFAULT-VALUE}")
        int maxPerSource;

        @Option(names = "--sources", description = "Only these sources, comma-separated ids (e.g. fashion-mnist). Default: all")
        String sources;

        @Option(names = "--repo", description = "Repository root holding data/sample (default: nearest ancestor of the working directory that has it)")
        Path repo;

        @Override public Integer call() throws Exception {
            CorpusOptions options;
            try {
                DataRoots roots = from == From.installed ? DataRoots.installed() : DataRoots.sample(repoRoot());
                if (sources != null) roots = roots.only(DataRoots.parseSources(sources));
                options = new CorpusOptions(roots, out, imageSize, seed, testFraction, maxPerSource);
            } catch (IllegalArgumentException e) {
                // picocli turns this into a usage error: message + usage on stderr, exit code 2
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            long t0 = System.nanoTime();
            CorpusReport report = CorpusBuilder.build(options);
            double secs = (System.nanoTime() - t0) / 1e9;
            spec.commandLine().getOut().print(report.table());
            spec.commandLine().getOut().printf("wrote %s (%d shards) in %.1f s%n",
                    out.resolve(CorpusReport.FILE_NAME), report.shards().size(), secs);
            spec.commandLine().getOut().flush();
            return 0;
        }

        private Path repoRoot() {
            if (repo != null) return repo;
            for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
                if (Files.isDirectory(p.resolve("data").resolve("sample"))) return p;
            }
            return Path.of("").toAbsolutePath();
        }
    }
}
