package m6j.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The /proc and cgroup file parsing behind bench offload --cgroup, on fixture files (no real cgroup needed). */
class MemoryCgroupTest {
    @Test void procIoReadAndWriteBytes() {
        String io = "rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assertThat(Memory.ioBytes(io)).containsExactly(4096, 8192);
        assertThat(Memory.ioBytes("rchar: 1\n")).containsExactly(-1, -1);
        assertThat(Memory.ioBytes()).hasSize(2);                 // this process: numbers, or -1 off Linux
    }

    @Test void flatKeyedFields() {
        String events = "low 0\nhigh 0\nmax 17\noom 1\noom_kill 1\noom_group_kill 0\n";
        assertThat(MemoryCgroup.parseField(events, "max")).isEqualTo(17);
        assertThat(MemoryCgroup.parseField(events, "oom_kill")).isEqualTo(1);
        assertThat(MemoryCgroup.parseField("oom_kill_disable 0\nunder_oom 0\n", "oom_kill")).isEqualTo(-1);   // older v1 kernels
    }

    @Test void detectsVersion(@TempDir Path root) throws IOException {
        assertThat(MemoryCgroup.detect(root)).isNull();
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io pids\n");
        assertThat(MemoryCgroup.detect(root)).isNull();
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        assertThat(MemoryCgroup.detect(root)).isEqualTo(MemoryCgroup.Version.V2);
        Files.createDirectories(root.resolve("memory"));
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        assertThat(MemoryCgroup.detect(root)).isEqualTo(MemoryCgroup.Version.V1);
    }

    @Test void createsLimitsWrapsAndRemoves(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("memory"));
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        try (MemoryCgroup g = MemoryCgroup.create(root, "bench", 3L << 30)) {   // a plain directory stands in for cgroupfs
            assertThat(Files.readString(g.dir().resolve("memory.limit_in_bytes"))).isEqualTo(Long.toString(3L << 30));
            List<String> cmd = g.wrap(List.of("java", "-version"));
            assertThat(cmd).startsWith("sh", "-c").endsWith(g.dir().resolve("cgroup.procs").toString(), "java", "-version");
            assertThat(g.peak()).isEqualTo(-1);
            Files.writeString(g.dir().resolve("memory.max_usage_in_bytes"), "123\n");
            assertThat(g.peak()).isEqualTo(123);
            Files.delete(g.dir().resolve("memory.limit_in_bytes"));
            Files.delete(g.dir().resolve("memory.max_usage_in_bytes"));
        }
        assertThat(root.resolve("memory/bench")).doesNotExist();
        assertThatThrownBy(() -> MemoryCgroup.create(root.resolve("none"), "x", 1)).isInstanceOf(IOException.class)
                .hasMessageContaining("no cgroup memory controller");
    }
}
