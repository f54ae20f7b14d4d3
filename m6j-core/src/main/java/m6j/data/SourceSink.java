package m6j.data;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.LoggerFactory;

/**
 * Takes one source's records for {@link CorpusBuilder}: checks them, settles their split at once and passes them
 * on to the shard writer in the order read (nothing is held back), counts skips by reason and applies the
 * per-source cap.
 */
public final class SourceSink implements AutoCloseable {
    /** Where settled records go (the builder's shard writer). */
    interface Target {
        void accept(Example e) throws IOException;

        /** Moves e, accepted as TRAIN, to TEST if it is still buffered; false when it was already written. */
        boolean moveToTest(Example e) throws IOException;
    }

    private final Source source;
    private final int imageSize;
    private final int maxTotal;
    private final int maxTest;
    private final int maxTrain;
    private final double testFraction;
    private final boolean showProgress;
    private final Target target;
    private final LongSet ids = new LongSet();
    private final Map<String, Long> skipped = new TreeMap<>();
    private boolean installed = true;
    private boolean sawImage;
    private long accepted, fixedTest, train, test;
    private long hashed, hashedTest;
    /** The hash-split TRAIN record of lowest hash so far: it moves to TEST if no other record goes there. */
    private Example lowest;
    private double lowestU = 2;
    private ProgressBar bar;

    SourceSink(Source source, int imageSize, int maxPerSource, double testFraction, boolean showProgress, Target target) {
        this.source = source;
        this.imageSize = imageSize;
        this.maxTotal = maxPerSource == 0 ? Integer.MAX_VALUE : maxPerSource;
        // For file-split sources the cap is shared out like the hash split would: ~testFraction goes to TEST.
        this.maxTest = maxPerSource == 0 ? Integer.MAX_VALUE
                : (testFraction > 0 ? Math.max(1, (int) Math.round(maxPerSource * testFraction)) : 0);
        this.maxTrain = maxPerSource == 0 ? Integer.MAX_VALUE : Math.max(0, maxPerSource - maxTest);
        this.testFraction = testFraction;
        this.showProgress = showProgress;
        this.target = target;
    }

    public Source source() { return source; }

    public int imageSize() { return imageSize; }

    public void notInstalled() {
        installed = false;
        skipped.put(Skip.NOT_INSTALLED, 0L);
    }

    /** True when no more records of that split (null: hash-split) are wanted; readers stop early on it. */
    public boolean full(Split fixedSplit) {
        if (fixedSplit == Split.TEST) return fixedTest >= maxTest;
        if (fixedSplit == Split.TRAIN) return accepted - fixedTest >= maxTrain;
        return accepted >= maxTotal;
    }

    public boolean full() { return full(null); }

    /** Adds a record after cleaning-independent checks: empty text, duplicate id, image shape, cap. */
    public void add(String id, Split fixedSplit, String text, String label, byte[] image) {
        add(id, fixedSplit, "", text, label, image);
    }

    /** As {@link #add(String, Split, String, String, byte[])} with the prompt of an instruction or chat pair. */
    public void add(String id, Split fixedSplit, String prompt, String text, String label, byte[] image) {
        tick();
        if (full(fixedSplit)) return;
        if (text == null || text.isBlank()) {
            skip(Skip.EMPTY_TEXT);
            return;
        }
        if (!ids.add(CorpusBuilder.hash64(id.getBytes(StandardCharsets.UTF_8)))) {
            skip(Skip.DUPLICATE_ID);
            return;
        }
        if (image != null && image.length != imageSize * imageSize * 3) {
            throw new IllegalArgumentException(source.id() + "/" + id + ": image has " + image.length + " bytes");
        }
        accepted++;
        if (image != null) sawImage = true;
        String p = prompt == null ? "" : prompt;
        String l = label == null ? "" : label;
        if (fixedSplit != null) {
            if (fixedSplit == Split.TEST) fixedTest++;
            emit(new Example(source, fixedSplit, id, text, l, image, p));
            return;
        }
        double u = CorpusBuilder.unitHash(source.id() + "\u0000" + id);
        hashed++;
        if (u < testFraction) {
            hashedTest++;
            emit(new Example(source, Split.TEST, id, text, l, image, p));
            return;
        }
        Example e = new Example(source, Split.TRAIN, id, text, l, image, p);
        if (u < lowestU) {
            lowest = e;
            lowestU = u;
        }
        emit(e);
    }

    private void emit(Example e) {
        if (e.split() == Split.TRAIN) train++;
        else test++;
        try {
            target.accept(e);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * When two or more records were hash-split and none went to TEST, moves the one of lowest hash there (as the
     * whole-list split did). If its shard was already written (a source larger than a shard with no hash-split
     * TEST record at all: a test fraction near 0) it stays in TRAIN, with a warning.
     */
    void finish() throws IOException {
        if (lowest == null || !(testFraction > 0 && hashed >= 2 && hashedTest == 0)) return;
        if (target.moveToTest(lowest)) {
            train--;
            test++;
        } else {
            LoggerFactory.getLogger(SourceSink.class).warn("{}: no TEST record (the candidate was already written)", source.id());
        }
        lowest = null;
    }

    public void skip(String reason) { skip(reason, 1); }

    public void skip(String reason, long n) {
        skipped.merge(reason, n, Long::sum);
    }

    /** Starts a progress bar over n units (files or records); ticks come from {@link #tick()} and {@link #add}. */
    public void progress(String task, long n) {
        if (bar != null) bar.close();
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(source.id() + " " + task).setInitialMax(n)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500);
        if (!showProgress) b.setConsumer(new DelegatingProgressBarConsumer(s -> {}));
        bar = b.build();
    }

    public void tick() {
        if (bar != null) bar.step();
    }

    long accepted() { return accepted; }

    long train() { return train; }

    long test() { return test; }

    boolean sawImage() { return sawImage; }

    Map<String, Long> skipped() { return skipped; }

    boolean installed() { return installed; }

    @Override public void close() {
        if (bar != null) bar.close();
        bar = null;
    }
}
