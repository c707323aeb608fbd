package io.cmon.agent.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeclaredFileTest {

    private static final String U1 = "6f1c2a3b-0000-4000-8000-000000000001";
    private static final String U2 = "6f1c2a3b-0000-4000-8000-000000000002";

    @Test
    void fullEntryIsReadAsDeclared() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("""
                instances:
                  - {uuid: 6F1C2A3B-0000-4000-8000-000000000001, alias: db-1, owner: alice, groups: [db, " prod "],
                     image: img-1, brand: lxc, pid: 4242, cgroup: null, rootfs: /var/lib/lxc/db-1/rootfs}
                """, "i.yaml", "ops");
        assertThat(p.warnings()).isEmpty();
        assertThat(p.entries()).containsExactly(new DeclaredFile.Entry(U1, "db-1", "alice",
                java.util.List.of("db", "prod"), "img-1", "lxc", 4242, null, "/var/lib/lxc/db-1/rootfs"));
    }

    @Test
    void omittedKeysTakeTheirDefaults() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("instances:\n  - {uuid: " + U1 + ", cgroup: /cmon-demo/db-1/}\n",
                "i.yaml", "ops");
        assertThat(p.entries()).containsExactly(new DeclaredFile.Entry(U1, U1, "ops", java.util.List.of(), null,
                "declared", 0, "/cmon-demo/db-1", null));
    }

    @Test
    void groupsMayBeACommaSeparatedStringLikeTheLabel() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("instances:\n  - {uuid: " + U1 + ", pid: 1, groups: 'web, db,'}\n",
                "i.yaml", null);
        assertThat(p.entries().get(0).groups()).containsExactly("web", "db");
        assertThat(p.entries().get(0).owner()).isNull();
    }

    @Test
    void badEntriesAreSkippedWithTheirIndexAndKeyWhileGoodOnesStay() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("""
                instances:
                  - {uuid: not-a-uuid, pid: 1}
                  - {uuid: %s, pid: 12x}
                  - {uuid: %s, alias: ok, pid: 1}
                  - {uuid: %s, alias: twin, pid: 2}
                  - {uuid: %s}
                  - {uuid: %s, cgroup: relative/path}
                  - {alias: nouuid, pid: 3}
                  - {uuid: %s, pid: -5}
                  - just a string
                  - {uuid: %s, pid: 1, grups: [x]}
                """.formatted(U2, U1, U1, U2, U2, U2, "6f1c2a3b-0000-4000-8000-000000000003"), "/etc/cmon/i.yaml", null);

        assertThat(p.entries()).extracting(DeclaredFile.Entry::alias)
                .containsExactly("ok", "twin", "6f1c2a3b-0000-4000-8000-000000000003");
        assertThat(p.warnings()).containsExactly(
                "/etc/cmon/i.yaml: instances[0].uuid: 'not-a-uuid' is not a uuid (8-4-4-4-12 hex digits); entry skipped",
                "/etc/cmon/i.yaml: instances[1].pid: must be a positive integer, found '12x'; entry skipped",
                "/etc/cmon/i.yaml: instances[3].uuid: " + U1 + " is also declared at instances[2]; neither is served"
                        + " while both are declared",
                "/etc/cmon/i.yaml: instances[4]: needs one of 'pid', 'cgroup', 'lxc', 'nspawn' (which processes it is);"
                        + " entry skipped",
                "/etc/cmon/i.yaml: instances[5].cgroup: 'relative/path' must be a path from the cgroup hierarchy's "
                        + "root, like /lxc/db-1; entry skipped",
                "/etc/cmon/i.yaml: instances[6].uuid: missing; entry skipped",
                "/etc/cmon/i.yaml: instances[7].pid: must be a positive integer, found '-5'; entry skipped",
                "/etc/cmon/i.yaml: instances[8]: expected a mapping (uuid, alias, owner, …), found 'just a string'; "
                        + "entry skipped",
                "/etc/cmon/i.yaml: instances[9]: unknown key 'grups' ignored (known: alias, brand, cgroup, groups, "
                        + "image, lxc, nspawn, owner, pid, rootfs, uuid)");
    }

    @Test
    void anInstanceNamedByItsRuntimeTakesTheRuntimeAsBrandAndTheNameAsAlias() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("""
                instances:
                  - {uuid: %s, owner: alice, lxc: web-1}
                  - {uuid: %s, alias: db, brand: custom, nspawn: db-machine}
                """.formatted(U1, U2), "i.yaml", null);

        assertThat(p.warnings()).isEmpty();
        assertThat(p.entries()).containsExactly(
                new DeclaredFile.Entry(U1, "web-1", "alice", List.of(), null, "lxc", 0, null, null,
                        NamedInstances.Runtime.LXC, "web-1"),
                new DeclaredFile.Entry(U2, "db", null, List.of(), null, "custom", 0, null, null,
                        NamedInstances.Runtime.NSPAWN, "db-machine"));
    }

    @Test
    void twoWaysOfSayingWhichProcessesOrABadNameIsAnErrorNamingFileEntryAndKey() throws Exception {
        DeclaredFile.Parsed p = DeclaredFile.parse("""
                instances:
                  - {uuid: %s, pid: 42, lxc: web-1}
                  - {uuid: %s, lxc: web-1, nspawn: web-1}
                  - {uuid: %s, lxc: ../etc}
                  - {uuid: %s, nspawn: 'a b'}
                  - {uuid: %s, lxc: [a]}
                """.formatted(U1, U1, U1, U1, U1), "/etc/cmon/i.yaml", null);

        assertThat(p.entries()).isEmpty();
        assertThat(p.warnings()).containsExactly(
                "/etc/cmon/i.yaml: instances[0]: 'pid' and 'lxc' both say which processes it is; give only one of"
                        + " 'pid', 'cgroup', 'lxc', 'nspawn'; entry skipped",
                "/etc/cmon/i.yaml: instances[1]: 'lxc' and 'nspawn' both say which processes it is; give only one"
                        + " of 'pid', 'cgroup', 'lxc', 'nspawn'; entry skipped",
                "/etc/cmon/i.yaml: instances[2].lxc: '../etc' is not a container name (1-253 printable ASCII"
                        + " characters, no '/' or whitespace); entry skipped",
                "/etc/cmon/i.yaml: instances[3].nspawn: 'a b' is not a container name (1-253 printable ASCII"
                        + " characters, no '/' or whitespace); entry skipped",
                "/etc/cmon/i.yaml: instances[4].lxc: must be a single value, found a list; entry skipped");
    }

    @Test
    void emptyFileAndEmptyListDeclareNothing() throws Exception {
        assertThat(DeclaredFile.parse("", "i.yaml", null).entries()).isEmpty();
        assertThat(DeclaredFile.parse("instances:\n", "i.yaml", null).entries()).isEmpty();
        assertThat(DeclaredFile.parse("instances: []\n", "i.yaml", null).entries()).isEmpty();
    }

    @Test
    void fileThatIsNotYamlOrNotTheRightShapeIsUnreadableAsAWhole() {
        assertThatThrownBy(() -> DeclaredFile.parse("instances:\n  - {uuid: [\n", "i.yaml", null))
                .isInstanceOf(DeclaredFile.Unreadable.class)
                .hasMessage("i.yaml: not valid YAML at line 3, column 1: expected the node content, but found '<stream end>'");
        assertThatThrownBy(() -> DeclaredFile.parse("instances: {uuid: x}\n", "i.yaml", null))
                .isInstanceOf(DeclaredFile.Unreadable.class)
                .hasMessage("i.yaml: 'instances' must be a list, found a mapping");
        assertThatThrownBy(() -> DeclaredFile.parse("- a\n- b\n", "i.yaml", null))
                .isInstanceOf(DeclaredFile.Unreadable.class)
                .hasMessage("i.yaml: expected a mapping with key 'instances', found a list");
    }
}
