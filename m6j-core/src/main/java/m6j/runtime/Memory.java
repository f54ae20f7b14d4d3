package m6j.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process from /proc (native tensors are invisible to the JVM's own counters). */
public final class Memory {
    private Memory() {}

    /** Current resident set in bytes, or -1 where /proc is missing. */
    public static long rss() { return field("VmRSS:"); }

    /** Peak resident set in bytes (high-water mark), or -1. */
    public static long peakRss() { return field("VmHWM:"); }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException ignored) {
            // not Linux: report unknown
        }
        return -1;
    }

    public static String mib(long bytes) { return bytes < 0 ? "n/a" : String.format("%.0f MiB", bytes / 1048576.0); }
}
