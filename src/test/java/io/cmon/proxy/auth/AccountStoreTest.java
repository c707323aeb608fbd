package io.cmon.proxy.auth;

import io.cmon.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class AccountStoreTest {

    static final String ALICE = "2b8e8f2a-6a5c-4d55-9d7e-1f0b8a3c0001";
    static final String BOB = "2b8e8f2a-6a5c-4d55-9d7e-1f0b8a3c0002";

    @TempDir
    Path dir;

    Path write(String yaml) throws Exception {
        return Files.writeString(dir.resolve("accounts.yaml"), yaml);
    }

    @Test
    void loadsAccountsWithLookupsByLoginAndCaseInsensitiveUuid() throws Exception {
        AccountStore store = AccountStore.load(write("""
                accounts:
                  - {login: alice, uuid: %s, operator: false, keys: []}
                  - {login: bob, uuid: %s, operator: true}
                """.formatted(ALICE.toUpperCase(), BOB)));
        assertThat(store.byLogin("alice")).contains(new Account("alice", ALICE, false, List.of()));
        assertThat(store.byUuid(ALICE)).map(Account::login).contains("alice");
        assertThat(store.byUuid(BOB.toUpperCase())).map(Account::operator).contains(true);
        assertThat(store.byLogin("Alice")).isEmpty();
        assertThat(store.byLogin("carol")).isEmpty();
        assertThat(store.all()).extracting(Account::login).containsExactly("alice", "bob");
    }

    @Test
    void aLoginShapedLikeAUuidIsRefusedSoItCannotMatchAnotherAccountsInstances() throws Exception {
        String bobUuid = "2b8e0000-0000-4000-8000-00000000000b";
        Path f = write("accounts:\n  - {login: '" + bobUuid.toUpperCase() + "', uuid: " + ALICE + "}\n"
                + "  - {login: bob, uuid: " + bobUuid + "}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("accounts[0].login").hasMessageContaining("looks like a uuid");
    }

    @Test
    void errorsNameFileEntryAndKey() throws Exception {
        Path f = write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n  - {login: bob, uuid: not-a-uuid}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).isInstanceOf(ConfigException.class)
                .hasMessage(f + ": key 'accounts[1].uuid': 'not-a-uuid' is not a UUID (8-4-4-4-12 hex digits)");
        write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n  - {login: alice, uuid: " + BOB + "}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).hasMessage(f + ": key 'accounts[1].login': 'alice' is also the login of accounts[0]");
        write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n  - {login: bob, uuid: " + ALICE.toUpperCase() + "}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).hasMessageContaining("key 'accounts[1].uuid'").hasMessageContaining("accounts[0]");
        write("accounts:\n  - {login: '', uuid: " + ALICE + "}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).hasMessage(f + ": key 'accounts[0].login': missing or empty");
        write("accounts:\n  - {login: alice, uuid: " + ALICE + ", operater: true}\n");
        assertThatThrownBy(() -> AccountStore.load(f)).hasMessageContaining("accounts[0].operater").hasMessageContaining("unknown key");
        write("");
        assertThatThrownBy(() -> AccountStore.load(f)).hasMessageContaining("key 'accounts': missing");
        assertThatThrownBy(() -> AccountStore.load(dir.resolve("nope.yaml"))).hasMessage(dir.resolve("nope.yaml") + ": file not found");
    }

    @Test
    void reloadReportsChangesAndKeepsThePreviousAccountsOnABrokenEdit() throws Exception {
        Path f = write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n");
        AccountStore store = AccountStore.load(f);
        assertThat(store.reload()).as("unchanged").isFalse();

        write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n  - {login: bob, uuid: " + BOB + "}\n");
        assertThat(store.reload()).isTrue();
        assertThat(store.byLogin("bob")).isPresent();

        write("accounts:\n  - {login: alice, uuid: " + ALICE + "\n"); // a typo: unclosed flow mapping
        assertThat(store.reload()).isFalse();
        assertThat(store.all()).extracting(Account::login).containsExactly("alice", "bob");
        assertThat(store.lastError()).startsWith(f + ":").contains("line 2");

        Files.delete(f);
        assertThat(store.reload()).isFalse();
        assertThat(store.size()).isEqualTo(2);
        assertThat(store.lastError()).isEqualTo(f + ": file not found");

        write("accounts: []\n"); // deliberately empty is honoured
        assertThat(store.reload()).isTrue();
        assertThat(store.size()).isZero();
        assertThat(store.lastError()).isNull();
    }

    @Test
    void fileWatcherReloadsWithinAboutASecond() throws Exception {
        Path f = write("accounts:\n  - {login: alice, uuid: " + ALICE + "}\n");
        AccountStore store = AccountStore.load(f);
        try (FileWatcher watcher = new FileWatcher(Duration.ofMillis(100))) {
            watcher.watch(List.of(f), store::reload);
            // an editor's way: write elsewhere, rename over
            Path tmp = Files.writeString(dir.resolve(".accounts.yaml.swp"), "accounts:\n  - {login: bob, uuid: " + BOB + "}\n");
            Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            await().atMost(Duration.ofSeconds(3)).until(() -> store.byLogin("bob").isPresent());
            assertThat(store.byLogin("alice")).isEmpty();
        }
    }
}
