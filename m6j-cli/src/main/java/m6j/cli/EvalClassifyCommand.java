package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;
import m6j.infer.BagOfWords;
import m6j.infer.Classifier;
import m6j.runtime.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.Arrays;

/**
 * Held-out classification (search intent): each labelled test record's label chosen among the training labels by
 * the model (label words, text alone and image + text) and by a bag-of-words logistic regression fitted in the same
 * run; accuracy and macro-F1 side by side.
 */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Held-out label accuracy and macro-F1: the model (text, image + text) against a bag-of-words logistic regression.")
public final class EvalClassifyCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;
    @Option(names = "--corpus", defaultValue = "work/corpus", description = "Corpus directory (default: ${DEFAULT-VALUE}).") Path corpus;
    @Option(names = "--source", description = "Only this source's records (default: every labelled record).") String source;
    @Option(names = "--max", defaultValue = "1000", description = "Held-out records at most (default: ${DEFAULT-VALUE}).") int max;

    @Override public Integer call() throws Exception {
        if (max < 1) throw new IllegalArgumentException("--max must be >= 1");
        common.init();
        Corpus c = Corpus.open(corpus);
        Source only = source == null ? null : c.sources().stream().filter(s -> s.id().equals(source)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no source '" + source + "' in " + corpus + " (it has " + c.sources().stream().map(Source::id).toList() + ")"));
        List<Example> train = (only == null ? c.examples(Split.TRAIN) : c.examples(Split.TRAIN, only)).stream().filter(e -> !e.label().isEmpty()).toList();
        List<String> labels = c.labels(Split.TRAIN, only);
        if (labels.size() < 2) throw new IllegalArgumentException(corpus + " has fewer than two labels" + (only == null ? "" : " in " + source));
        List<Example> test = (only == null ? c.examples(Split.TEST) : c.examples(Split.TEST, only)).stream()
                .filter(e -> labels.contains(e.label())).limit(max).toList();
        int[] truth = test.stream().mapToInt(e -> labels.indexOf(e.label())).toArray();
        int[] trainLabels = train.stream().mapToInt(e -> labels.indexOf(e.label())).toArray();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Classifier clf = new Classifier(l.model(), null, l.tokenizer(), labels);
        List<String> texts = test.stream().map(Example::text).toList();
        Map<String, Classifier.Score> rows = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        rows.put("model, text", Classifier.Score.of(Classifier.argmax(clf.scores(texts, null)), truth, labels.size()));
        if (test.stream().allMatch(Example::hasImage))
            rows.put("model, image + text", Classifier.Score.of(Classifier.argmax(clf.scores(texts, test.stream().map(Example::image).toList())), truth, labels.size()));
        double modelSecs = (System.nanoTime() - t0) / 1e9;
        BagOfWords bow = new BagOfWords(labels.size()).fit(train.stream().map(Example::text).toList(), trainLabels, 20, 1);
        rows.put("bag-of-words logistic regression, text", Classifier.Score.of(bow.predict(texts), truth, labels.size()));
        int[] counts = new int[labels.size()];
        for (int t : trainLabels) counts[t]++;
        int major = 0;
        for (int i = 1; i < counts.length; i++) if (counts[i] > counts[major]) major = i;
        int[] majority = new int[truth.length];
        Arrays.fill(majority, major);
        rows.put("majority class", Classifier.Score.of(majority, truth, labels.size()));
        System.out.printf("m6j eval classify: %d held-out records, %d labels (%s), %d training records%n", test.size(), labels.size(),
                source == null ? "all labelled sources" : source, train.size());
        System.out.println("| classifier | accuracy | macro-F1 |");
        System.out.println("|---|---|---|");
        rows.forEach((k, v) -> System.out.printf("| %s | %.1f%% | %.3f |%n", k, 100 * v.accuracy(), v.macroF1()));
        System.out.printf("(model scoring took %.1f s)%n", modelSecs);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("labels", labels);
        out.put("heldOut", test.size());
        out.put("results", rows);
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(l.dir().resolve("eval-classify.json").toFile(), out);
        return 0;
    }
}
