package m6j.runtime;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as people write them: 2GiB, 512MiB, 1.5G, 800M, 4096 (binary units: K = KiB). */
public final class Bytes {
    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(i?b)?\\s*");

    private Bytes() {}

    /** Parses s; what names the option in the error message. */
    public static long parse(String s, String what) {
        Matcher m = SIZE.matcher(s.toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new IllegalArgumentException(what + ": '" + s + "' is not a size (e.g. 2GiB, 512MiB, 0)");
        int shift = switch (m.group(2)) { case "k" -> 10; case "m" -> 20; case "g" -> 30; case "t" -> 40; default -> 0; };
        return (long) (Double.parseDouble(m.group(1)) * (1L << shift));
    }
}
