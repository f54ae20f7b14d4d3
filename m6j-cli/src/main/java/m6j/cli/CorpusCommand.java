package m6j.cli;

import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.CorpusReport;
import m6j.data.DataRoots;
import m6j.data.UserSources;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** `m6j corpus build`: reads the built-in sources and/or the user's datasets into shards + corpus.json. */
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

    /** The built-in source sets --from names; anything else is a path to a user dataset. */
    public enum From { sample, installed }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Read the sources, write shards and corpus.json, print a summary table.")
    public static final class Build implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--from", defaultValue = "sample", split = ",",
                description = "Comma-separated: sample (data/sample of the repo), installed (system packages + $M6J_DATA), "
                        + "or paths to your datasets: an image folder with metadata.jsonl/.csv, WebDataset .tar shards, "
                        + ".jsonl files, WARC archives (docs/DATA.md). Default: ${DEFAULT-VALUE}")
        List<String> from;

        @Option(names = "--format", defaultValue = "auto",
                description = "Format of the --from paths: auto (detect per path), imagefolder, webdataset, jsonl, warc. Default: ${DEFAULT-VALUE}")
        String format;

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
                DataRoots roots = null;
                List<Path> datasets = new ArrayList<>();
                for (String f : from) {
                    String item = f.strip();
                    if (item.equals(From.sample.name())) roots = DataRoots.sample(repoRoot());
                    else if (item.equals(From.installed.name())) roots = DataRoots.installed();
                    else if (Files.exists(Path.of(item))) datasets.add(Path.of(item));
                    else throw new IllegalArgumentException("--from " + item + ": no such file or directory "
                                + "(want sample, installed or the path of a dataset)");
                }
                if (roots != null && sources != null) roots = roots.only(DataRoots.parseSources(sources));
                options = new CorpusOptions(roots, out, imageSize, seed, testFraction, maxPerSource, datasets, format);
                UserSources.readers(datasets, format); // detects every format now: a path it cannot read is a usage error
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
