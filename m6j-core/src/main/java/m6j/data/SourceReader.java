package m6j.data;

import java.io.IOException;

/** Reads one source into a sink; per-record problems go to {@link SourceSink#skip}, never exceptions. */
public interface SourceReader {
    Source source();

    /** roots: where the built-in sources live (null when none are read; user readers ignore it). A missing root calls {@link SourceSink#notInstalled()}; an IOException here is counted as a read error. */
    void read(DataRoots roots, SourceSink sink) throws IOException;

    /** The reader of a built-in source. */
    static SourceReader of(Source s) {
        if (s.equals(Source.FASHION_MNIST)) return new FashionMnistReader();
        if (s.equals(Source.OPENCLIPART)) return new OpenClipArtReader();
        if (s.equals(Source.TWEMOJI)) return new TwemojiReader();
        if (s.equals(Source.BROWN)) return new BrownReader();
        if (s.equals(Source.FORTUNES_EN)) return new FortunesReader(false);
        if (s.equals(Source.FORTUNES_ZH)) return new FortunesReader(true);
        if (s.equals(Source.CHINESE_POETRY)) return new ChinesePoetryReader();
        throw new IllegalArgumentException("not a built-in source: " + s.id());
    }
}
