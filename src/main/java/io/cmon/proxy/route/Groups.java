package io.cmon.proxy.route;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code ?groups=a,b} filter of discovery (DESIGN §3.2): a group is 1–100 of letters, digits, {@code _} and
 * {@code -}, at most 100 of them, as Triton's {@code triton.cmon.groups} tag. Absent means "no filter".
 */
public record Groups(Set<String> wanted) {

    public static final Groups ALL = new Groups(null);
    static final int MAX_GROUPS = 100;
    static final int MAX_LENGTH = 100;
    private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9_-]{1," + MAX_LENGTH + "}");

    public Groups {
        wanted = wanted == null ? null : Set.copyOf(wanted);
    }

    /**
     * @param values the already URL-decoded values of every {@code groups} parameter
     * @throws IllegalArgumentException with a message fit for the caller when a value is malformed
     */
    public static Groups parse(List<String> values) {
        if (values.isEmpty()) return ALL;
        Set<String> out = new LinkedHashSet<>();
        for (String value : values) {
            if (value.isEmpty()) throw new IllegalArgumentException("empty groups parameter");
            // split with limit -1 keeps trailing empties, so "a," is refused like ",a"
            for (String g : value.split(",", -1)) {
                if (!GROUP.matcher(g).matches()) {
                    throw new IllegalArgumentException(g.isEmpty() ? "empty group name"
                            : "group names are 1-100 of A-Z a-z 0-9 _ -");
                }
                out.add(g);
                if (out.size() > MAX_GROUPS) throw new IllegalArgumentException("more than 100 groups");
            }
        }
        return new Groups(out);
    }

    /** Any-of: true when no filter was given or the instance is in at least one wanted group. */
    public boolean admits(List<String> instanceGroups) {
        if (wanted == null) return true;
        for (String g : instanceGroups) {
            if (wanted.contains(g)) return true;
        }
        return false;
    }
}
