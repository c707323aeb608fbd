package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MemoryStatTest {

    private static final long GiB = 1L << 30;
    private static final MemInfo HOST_WITH_SWAP = MemInfo.of(16 * GiB, 2 * GiB);

    @Test
    void v1CapturedDockerContainerWithMinus64m() {
        MemInfo host = MemInfo.parse(Fixtures.text("cgroup-v1", "proc/meminfo"));

        MemoryStat stat = MemoryStat.parseV1(Fixtures.v1("memory", "memory.usage_in_bytes"),
                Fixtures.v1("memory", "memory.limit_in_bytes"), Fixtures.v1("memory", "memory.memsw.usage_in_bytes"),
                Fixtures.v1("memory", "memory.memsw.limit_in_bytes"), host);

        // the capture host has no swap: docker's default memsw limit (2x) cannot be used, so the limit is 0
        assertThat(stat).isEqualTo(new MemoryStat(663_552, 67_108_864, 0, 0));
    }

    @Test
    void v1SwapIsMemswMinusMemory() {
        MemoryStat stat = MemoryStat.parseV1("1000000\n", "67108864\n", "1500000\n", "134217728\n", HOST_WITH_SWAP);

        assertThat(stat).isEqualTo(new MemoryStat(1_000_000, 67_108_864, 500_000, 67_108_864));
    }

    @Test
    void v1UnlimitedReadsAsTheServersMemoryAndSwap() {
        MemoryStat stat = MemoryStat.parseV1("4096\n", "9223372036854771712\n", "4096\n",
                "9223372036854771712\n", HOST_WITH_SWAP);

        assertThat(stat).isEqualTo(new MemoryStat(4096, 16 * GiB, 0, 2 * GiB));
    }

    @Test
    void v1WithoutSwapAccountingHasNoSwapAndTheServersSwapAsLimit() {
        MemoryStat stat = MemoryStat.parseV1("4096\n", "67108864\n", null, null, HOST_WITH_SWAP);

        assertThat(stat).isEqualTo(new MemoryStat(4096, 67_108_864, 0, 2 * GiB));
    }

    @Test
    void v2LimitedInstance() {
        MemInfo host = MemInfo.parse(Fixtures.text("cgroup-v2", "proc/meminfo"));

        // 48 MiB of tmpfs under memory.max 32 MiB, memory.swap.max 64 MiB: part of it is in (zram) swap
        String swap = "cmon-it/swap";
        MemoryStat stat = MemoryStat.parseV2(Fixtures.v2(swap, "memory.current"), Fixtures.v2(swap, "memory.max"),
                Fixtures.v2(swap, "memory.swap.current"), Fixtures.v2(swap, "memory.swap.max"), host);

        assertThat(stat).isEqualTo(new MemoryStat(33_202_176, 33_554_432, 17_485_824, 67_108_864));
    }

    @Test
    void v2MaxReadsAsTheServersMemoryAndSwap() {
        String cgfs = "docker/" + Fixtures.V2_CGFS_ID; // memory.max and memory.swap.max are "max"
        MemInfo host = MemInfo.parse(Fixtures.text("cgroup-v2", "proc/meminfo"));

        MemoryStat stat = MemoryStat.parseV2(Fixtures.v2(cgfs, "memory.current"), Fixtures.v2(cgfs, "memory.max"),
                Fixtures.v2(cgfs, "memory.swap.current"), Fixtures.v2(cgfs, "memory.swap.max"), host);

        // the guest's MemTotal and SwapTotal (a 256 MiB zram device)
        assertThat(stat).isEqualTo(new MemoryStat(352_256, 981_464L * 1024, 0, 262_140L * 1024));
    }

    @Test
    void v2WithoutSwapFilesHasNoSwap() {
        MemoryStat stat = MemoryStat.parseV2("4096\n", "max\n", null, null, HOST_WITH_SWAP);

        assertThat(stat).isEqualTo(new MemoryStat(4096, 16 * GiB, 0, 2 * GiB));
    }

    @Test
    void meminfoIsInKilobytes() {
        MemInfo info = MemInfo.parse(Fixtures.text("cgroup-v1", "proc/meminfo"));

        assertThat(info.memTotal()).isEqualTo(24_684_096L * 1024);
        assertThat(info.swapTotal()).isZero();
    }
}
