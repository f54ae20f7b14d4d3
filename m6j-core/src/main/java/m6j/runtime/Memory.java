package m6j.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory and storage I/O of this process from /proc (native tensors are invisible to the JVM's own
 * counters).
 */
public final class Memory {
    private Memory() {}

    /** Current resident set in bytes, or -1 where /proc is missing. */
    public static long rss() { return field("VmRSS:"); }

    /** Peak resident set in bytes (high-water mark), or -1. */
    public static long peakRss() { return field("VmHWM:"); }

    /**
     * Bytes this process (all its threads) has made the kernel read from and write to storage, /proc/self/io's
     * read_bytes and write_bytes (page-cache hits are not reads; writes count when dirtied); {-1, -1} where missing.
     */
    public static long[] ioBytes() {
        try {
            return ioBytes(Files.readString(Path.of("/proc/self/io")));
        } catch (IOException | RuntimeException e) {
            return new long[]{-1, -1};                   // not Linux, or no task I/O accounting
        }
    }

    /** read_bytes and write_bytes of a /proc/PID/io text; -1 for a missing field. */
    static long[] ioBytes(String procIo) {
        long[] out = {-1, -1};
        for (String line : procIo.split("\n")) {
            String[] kv = line.split(":\\s*");
            if (kv.length != 2) continue;
            if (kv[0].equals("read_bytes")) out[0] = Long.parseLong(kv[1].trim());
            if (kv[0].equals("write_bytes")) out[1] = Long.parseLong(kv[1].trim());
        }
        return out;
    }

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
