package m6j.serve;

import m6j.runtime.ChildJvm;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A real `m6j serve` process on the fixture's checkpoint, for tests that need a process of its own (heap, signals). */
final class ServeProcess implements AutoCloseable {
    final Process process;
    final String url;
    final StringBuffer log = new StringBuffer();

    /** jvm: JVM options (heap, -D limits); args: serve's options after -m and --port. */
    ServeProcess(Path errDir, List<String> jvm, List<String> args) throws Exception {
        ServeFixture.model();
        List<String> a = new ArrayList<>(List.of("serve", "-m", ServeFixture.run.toString(), "--port", "0", "--threads", "1"));
        a.addAll(args);
        process = new ProcessBuilder(ChildJvm.command(false, jvm, errDir, a)).redirectErrorStream(true).start();
        CompletableFuture<String> started = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                Pattern on = Pattern.compile(" on (http://\\S+)");
                for (String line; (line = r.readLine()) != null; ) {
                    log.append(line).append('\n');
                    Matcher m = on.matcher(line);
                    if (m.find()) started.complete(m.group(1));
                }
            } catch (Exception ignored) {
                // process ended
            }
            started.complete(null);
        });
        reader.setDaemon(true);
        reader.start();
        url = started.get(120, TimeUnit.SECONDS);
        if (url == null) throw new IllegalStateException("m6j serve did not start:\n" + log);
    }

    @Override public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) process.destroyForcibly();
    }
}
