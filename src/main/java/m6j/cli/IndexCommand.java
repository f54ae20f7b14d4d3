package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.runtime.Json;
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
    @Option(names = "--per-source", defaultValue = "1000", description = "Most examples per source (default: ${DEFAULT-VALUE}).") int perSource;

    @Override public Integer call() throws Exception {
        if (!action.equals("build")) throw new IllegalArgumentException("unknown action '" + action + "' (use: index build)");
        if (perSource < 1) throw new IllegalArgumentException("--per-source must be >= 1");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Corpus c = Corpus.open(corpus);
        System.out.println("m6j: embedding up to " + perSource + " examples per source from " + corpus);
        IndexBuilder.Report r = IndexBuilder.build(Embedder.of(l.model(), l.tokenizer()), c, out, perSource, System.out);
        System.out.printf("index: %d items (%d images, %d texts) in %.1f s -> %s%n", r.items(), r.images(), r.texts(), r.buildSeconds(), out);
        System.out.printf("HNSW recall@10 vs exact search (%d held-out text queries): %.3f%n", r.recallQueries(), r.hnswRecallAt10());
        System.out.printf("text->image recall@10, held-out Open Clip Art titles (%d): HNSW %.3f, exact %.3f (chance %.3f)%n",
                r.titleQueries(), r.titleToImageRecallAt10(), r.titleToImageRecallAt10Exact(), r.chanceAt10());
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(out.resolve("report.json").toFile(), r);
        return 0;
    }
}
