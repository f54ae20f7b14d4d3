package m6j.cli;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.FashionMnistReader;
import m6j.data.Source;
import m6j.data.Split;
import m6j.infer.FashionClassifier;
import m6j.infer.ImagineEval;
import m6j.infer.Imaginer;
import m6j.runtime.Json;
import m6j.vq.ImageGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** `m6j eval imagine`: class fidelity and Frechet distances of text-to-image on Fashion-MNIST, with baselines. */
@Command(name = "imagine", mixinStandardHelpOptions = true,
        description = "Score text-to-image on Fashion-MNIST with a classifier trained here (trained on first use): class fidelity, "
                + "Frechet distance vs held-out real images, and the same for random codes and for codes drawn without the text.")
public final class EvalImagineCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;
    @Mixin ImagineCommand.DrawOptions draw;

    @Option(names = "--corpus", defaultValue = "work/fmnist", description = "Corpus with Fashion-MNIST (train split trains the classifier, test split is the real reference). Default: ${DEFAULT-VALUE}")
    Path corpus;
    @Option(names = "--classifier", defaultValue = "work/fmnist-classifier", description = "Classifier checkpoint directory (trained there if missing). Default: ${DEFAULT-VALUE}")
    Path classifier;
    @Option(names = "--classifier-steps", defaultValue = "1500") int classifierSteps;
    @Option(names = "--per-class", defaultValue = "50", description = "Images per class prompt. Default: ${DEFAULT-VALUE}") int perClass;
    @Option(names = "--sheet", description = "Write a contact sheet (one row of 10 images per class) here.") Path sheet;

    @Override public Integer call() throws Exception {
        if (perClass < 2) throw new IllegalArgumentException("--per-class must be >= 2");
        Imaginer.Options o = draw.options();
        common.init();
        Corpus cp = Corpus.open(corpus);
        List<byte[]> trainImg = new ArrayList<>(), testImg = new ArrayList<>();
        List<Integer> trainLab = new ArrayList<>(), testLab = new ArrayList<>();
        for (Example e : cp.examples(Split.TRAIN, Source.FASHION_MNIST)) { trainImg.add(e.image()); trainLab.add(FashionMnistReader.CLASSES.indexOf(e.label())); }
        for (Example e : cp.examples(Split.TEST, Source.FASHION_MNIST)) { testImg.add(e.image()); testLab.add(FashionMnistReader.CLASSES.indexOf(e.label())); }
        if (trainImg.isEmpty() || testImg.isEmpty()) throw new IllegalArgumentException(corpus + " has no Fashion-MNIST train and test images");
        int[] testLabels = testLab.stream().mapToInt(Integer::intValue).toArray();
        FashionClassifier judge;
        if (FashionClassifier.exists(classifier)) {
            judge = FashionClassifier.load(classifier);
            System.out.println("m6j: classifier " + classifier);
        } else {
            System.out.printf("m6j: training the Fashion-MNIST classifier on %,d images -> %s%n", trainImg.size(), classifier);
            judge = new FashionClassifier(7);
            long t0 = System.nanoTime();
            double acc = judge.train(trainImg, trainLab.stream().mapToInt(Integer::intValue).toArray(), testImg, testLabels, classifierSteps, 64, 7, System.out);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("steps", classifierSteps);
            info.put("testAccuracy", acc);
            info.put("testImages", testImg.size());
            info.put("seconds", (System.nanoTime() - t0) / 1e9);
            judge.save(classifier, info);
            System.out.printf("m6j: classifier test accuracy %.3f on %,d held-out images%n", acc, testImg.size());
        }
        try (Imaginer im = Imaginer.load(model.model)) {
            List<byte[]> shown = sheet == null ? null : new ArrayList<>();
            ImagineEval.Report r = ImagineEval.run(im, judge, testImg, testLabels, perClass, o, 10, shown, System.out);
            System.out.printf("%n%-20s %9s %9s %14s %14s%n", "prompt", "fidelity", "FD", "FD random", "FD no text");
            for (ImagineEval.Row row : r.rows())
                System.out.printf("%-20s %9.3f %9.2f %14.2f %14.2f%n", row.label(), row.fidelity(), row.fd(), row.fdRandom(), row.fdNoText());
            System.out.printf("(%d images per class, guidance %.1f, temperature %.2f, top-k %d; %.1f images/s while drawing)%n",
                    r.perClass(), r.guidance(), r.temperature(), r.topK(), r.imagesPerSecond());
            Path run = im.vocab.vqganDir(model.model).getParent();
            Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(run.resolve("eval-imagine.json").toFile(), r);
            if (sheet != null) {
                ImageGrid.write(sheet, ImageGrid.sheet(shown, im.vq.config.imageSize(), 10, 1));
                System.out.println("m6j: contact sheet -> " + sheet);
            }
        }
        return 0;
    }
}
