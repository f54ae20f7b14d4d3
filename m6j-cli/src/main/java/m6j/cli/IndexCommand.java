package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.runtime.Json;
import m6j.runtime.Machine;
import m6j.infer.Embedder;
import m6j.serve.IndexBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "index", mixinStandardHelpOptions = true,
        description = "Vector index for /v1/search: 'index build' embeds corpus images and texts into a Lucene HNSW index and reports its recall.")
public final class IndexCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Parameters(index = "0", paramLabel = "ACTION", description = "build") String action;
    @Option(names = "--corpus", required = true, description = "Corpus directory (m6j corpus build).") Path corpus;
    @Option(names = "--out", required = true, description = "Index directory to write (replaced).") Path out;
    @Option(names = "--per-source", defaultValue = "1000", description = "Most examples per source, or 'all' (default: ${DEFAULT-VALUE}).") String perSourceArg;

    @Override public Integer call() throws Exception {
        if (!action.equals("build")) throw new IllegalArgumentException("unknown action '" + action + "' (use: index build)");
        int perSource;
        try {
            perSource = perSourceArg.equals("all") ? Integer.MAX_VALUE : Integer.parseInt(perSourceArg);
        } catch (NumberFormatException e) {
            perSource = 0;
        }
        if (perSource < 1) throw new IllegalArgumentException("--per-source must be a number >= 1 or 'all'");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Corpus c = Corpus.open(corpus);
        System.out.println("m6j: embedding " + (perSource == Integer.MAX_VALUE ? "all" : "up to " + perSource) + " examples per source from " + corpus);
        IndexBuilder.Report r = IndexBuilder.build(Embedder.of(l.model(), l.tokenizer()), c, out, perSource, System.out);
        System.out.printf("index: %d items (%d images, %d texts) -> %s, %.1f MiB on disk; embedding %.1f s, HNSW build %.1f s (matmul %.0f GFLOP/s)%n",
                r.items(), r.images(), r.texts(), out, r.bytesOnDisk() / 1048576.0, r.embedSeconds(), r.indexSeconds(), Machine.matmulGflops());
        System.out.printf("HNSW recall@10 vs exact search (%d held-out text and image queries): %.3f; %.0f queries/s, p50 %.2f ms, p99 %.2f ms%n",
                r.recallQueries(), r.hnswRecallAt10(), r.queriesPerSecond(), r.p50Ms(), r.p99Ms());
        System.out.printf("text->image recall@10, held-out Open Clip Art titles (%d): HNSW %.3f, exact %.3f (chance %.3f)%n",
                r.titleQueries(), r.titleToImageRecallAt10(), r.titleToImageRecallAt10Exact(), r.chanceAt10());
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(out.resolve("report.json").toFile(), r);
        return 0;
    }
}
