package io.cmon.agent.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The declared instances file (DESIGN §4, {@code instances.yaml}) read from text. A bad entry is skipped with a
 * warning naming the file, the entry and the key; the others stand. Pure: no I/O.
 */
final class DeclaredFile {

    static final String DEFAULT_BRAND = "declared";
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Set<String> KEYS =
            Set.of("uuid", "alias", "owner", "groups", "image", "brand", "pid", "cgroup", "rootfs", "lxc", "nspawn");
    /** The keys that say which processes an entry is; exactly one per entry. */
    private static final List<String> WHICH = List.of("pid", "cgroup", "lxc", "nspawn");

    /**
     * One valid entry; exactly as declared except uuid lowercased, owner defaulted, and brand defaulted to the
     * runtime's name. Exactly one of {@code pid}, {@code cgroup}, {@code runtime} (with {@code name}) is set.
     */
    record Entry(String uuid, String alias, String owner, List<String> groups, String image, String brand,
                 long pid, String cgroup, String rootfs, NamedInstances.Runtime runtime, String name) {

        Entry(String uuid, String alias, String owner, List<String> groups, String image, String brand,
              long pid, String cgroup, String rootfs) {
            this(uuid, alias, owner, groups, image, brand, pid, cgroup, rootfs, null, null);
        }
    }

    /** The entries that are valid, and a warning per problem found. */
    record Parsed(List<Entry> entries, List<String> warnings) {}

    /** The file as a whole cannot be read (not YAML, not the expected shape): nothing in it can be trusted. */
    static final class Unreadable extends Exception {
        Unreadable(String message) {
            super(message);
        }
    }

    private DeclaredFile() {}

    static Parsed parse(String text, String fileName, String defaultOwner) throws Unreadable {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new Unreadable(fileName + ": not valid YAML" + yamlProblem(e));
        }
        List<Entry> entries = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        if (root == null || root.isNull() || root.isMissingNode()) {
            return new Parsed(entries, warnings); // an empty file declares nothing
        }
        if (!root.isObject()) {
            throw new Unreadable(fileName + ": expected a mapping with key 'instances', found " + kind(root));
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals("instances")) {
                warnings.add(fileName + ": unknown key '" + key + "' ignored (expected 'instances')");
            }
        }
        JsonNode list = root.get("instances");
        if (list == null || list.isNull()) {
            return new Parsed(entries, warnings);
        }
        if (!list.isArray()) {
            throw new Unreadable(fileName + ": 'instances' must be a list, found " + kind(list));
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String where = fileName + ": instances[" + i + "]";
            try {
                Entry e = entry(list.get(i), where, defaultOwner, warnings);
                Integer first = seen.putIfAbsent(e.uuid(), i);
                if (first != null) {
                    // both stay: the inventory serves a uuid claimed twice to nobody, and shows the conflict
                    warnings.add(where + ".uuid: " + e.uuid() + " is also declared at instances[" + first
                            + "]; neither is served while both are declared");
                }
                entries.add(e);
            } catch (BadKey bad) {
                warnings.add(bad.getMessage() + "; entry skipped");
            }
        }
        return new Parsed(entries, warnings);
    }

    private static Entry entry(JsonNode n, String where, String defaultOwner, List<String> warnings) throws BadKey {
        if (!n.isObject()) {
            throw new BadKey(where + ": expected a mapping (uuid, alias, owner, …), found " + kind(n));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            String key = it.next().getKey();
            if (!KEYS.contains(key)) {
                warnings.add(where + ": unknown key '" + key + "' ignored (known: " + String.join(", ",
                        KEYS.stream().sorted().toList()) + ")");
            }
        }
        String uuid = string(n, "uuid", where);
        if (uuid == null) {
            throw new BadKey(where + ".uuid: missing");
        }
        if (!ContainerMapping.isUuid(uuid)) {
            throw new BadKey(where + ".uuid: '" + uuid + "' is not a uuid (8-4-4-4-12 hex digits)");
        }
        uuid = uuid.toLowerCase(Locale.ROOT);
        String alias = string(n, "alias", where);
        String owner = string(n, "owner", where);
        String brand = string(n, "brand", where);
        long pid = 0;
        JsonNode p = n.get("pid");
        if (p != null && !p.isNull()) {
            if (!p.canConvertToLong() || !p.isIntegralNumber() || p.asLong() <= 0) {
                throw new BadKey(where + ".pid: must be a positive integer, found '" + p.asText() + "'");
            }
            pid = p.asLong();
        }
        String cgroup = string(n, "cgroup", where);
        if (cgroup != null && (!cgroup.startsWith("/") || cgroup.contains("/../") || cgroup.endsWith("/..")
                || cgroup.contains("\0"))) {
            throw new BadKey(where + ".cgroup: '" + cgroup
                    + "' must be a path from the cgroup hierarchy's root, like /lxc/db-1");
        }
        List<String> given = WHICH.stream().filter(k -> n.hasNonNull(k)).toList();
        if (given.isEmpty()) {
            throw new BadKey(where + ": needs one of 'pid', 'cgroup', 'lxc', 'nspawn' (which processes it is)");
        }
        if (given.size() > 1) {
            throw new BadKey(where + ": '" + String.join("' and '", given) + "' both say which processes it is;"
                    + " give only one of 'pid', 'cgroup', 'lxc', 'nspawn'");
        }
        NamedInstances.Runtime runtime = null;
        String name = null;
        for (NamedInstances.Runtime r : NamedInstances.Runtime.values()) {
            String v = string(n, r.key, where);
            if (v != null) {
                runtime = r;
                name = runtimeName(v, where + "." + r.key);
            }
        }
        String rootfs = string(n, "rootfs", where);
        if (rootfs != null && !rootfs.startsWith("/")) {
            throw new BadKey(where + ".rootfs: '" + rootfs + "' must be an absolute path");
        }
        return new Entry(uuid, alias == null || alias.isBlank() ? (name != null ? name : uuid) : alias,
                owner == null || owner.isBlank() ? defaultOwner : owner,
                groups(n.get("groups"), where), string(n, "image", where),
                brand != null && !brand.isBlank() ? brand : runtime != null ? runtime.key : DEFAULT_BRAND,
                pid, cgroup == null || cgroup.equals("/") ? cgroup : stripTrailingSlash(cgroup),
                string(n, "rootfs", where), runtime, name);
    }

    /** A container's name as its runtime knows it: one path component, printable, no whitespace. */
    private static String runtimeName(String v, String where) throws BadKey {
        if (v.isEmpty() || v.equals(".") || v.equals("..") || v.length() > 253
                || !v.chars().allMatch(c -> c > ' ' && c < 0x7f && c != '/')) {
            throw new BadKey(where + ": '" + v + "' is not a container name (1-253 printable ASCII characters,"
                    + " no '/' or whitespace)");
        }
        return v;
    }

    /** A list of strings, or one comma-separated string like the {@code cmon.groups} label. */
    private static List<String> groups(JsonNode g, String where) throws BadKey {
        if (g == null || g.isNull()) {
            return List.of();
        }
        if (g.isTextual()) {
            return ContainerMapping.splitGroups(g.asText());
        }
        if (!g.isArray()) {
            throw new BadKey(where + ".groups: must be a list of names, found " + kind(g));
        }
        List<String> groups = new ArrayList<>();
        for (JsonNode e : g) {
            if (!e.isValueNode() || e.isNull() || e.asText().isBlank()) {
                throw new BadKey(where + ".groups: each group must be a non-empty name, found " + kind(e));
            }
            String name = e.asText().trim();
            if (!groups.contains(name)) {
                groups.add(name);
            }
        }
        return groups;
    }

    private static String string(JsonNode n, String key, String where) throws BadKey {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isValueNode()) {
            throw new BadKey(where + "." + key + ": must be a single value, found " + kind(v));
        }
        return v.asText().trim();
    }

    /** Where and what, on one log line (snakeyaml's own message spans lines and quotes the text). */
    private static String yamlProblem(JsonProcessingException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblemMark() != null) {
                return " at line " + (m.getProblemMark().getLine() + 1) + ", column "
                        + (m.getProblemMark().getColumn() + 1) + ": " + m.getProblem();
            }
        }
        return (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : "") + ": "
                + e.getOriginalMessage().replaceAll("\\s*\\R\\s*", " ").trim();
    }

    private static String stripTrailingSlash(String path) {
        return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "a list";
            case OBJECT -> "a mapping";
            case NULL, MISSING -> "nothing";
            case STRING -> "'" + n.asText() + "'";
            default -> n.asText();
        };
    }

    private static final class BadKey extends Exception {
        BadKey(String message) {
            super(message);
        }
    }
}
