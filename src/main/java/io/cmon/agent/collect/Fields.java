package io.cmon.agent.collect;

/**
 * The whitespace-separated fields of one line of kernel text, found by index: the parsers on the scrape path split
 * lines with this instead of a regex ({@code \s+}), which cost a matcher, an array and a string per field on every
 * file of every scrape. An instance is reused line after line by one parser call.
 */
final class Fields {

    private final String text;
    private final int[] starts;
    private final int[] ends;
    private int count;

    /** At most {@code capacity} fields of a line are kept; {@link #count} tells when there were more. */
    Fields(String text, int capacity) {
        this.text = text;
        this.starts = new int[capacity];
        this.ends = new int[capacity];
    }

    /** Splits {@code text[from, to)}; returns the number of fields, capped at capacity + 1 ("more than fit"). */
    int split(int from, int to) {
        count = 0;
        int i = from;
        while (true) {
            while (i < to && Character.isWhitespace(text.charAt(i))) i++;
            if (i == to) return count;
            if (count == starts.length) return ++count;
            starts[count] = i;
            while (i < to && !Character.isWhitespace(text.charAt(i))) i++;
            ends[count++] = i;
        }
    }

    int count() {
        return count;
    }

    String get(int field) {
        return text.substring(starts[field], ends[field]);
    }

    int start(int field) {
        return starts[field];
    }

    int end(int field) {
        return ends[field];
    }

    int length(int field) {
        return ends[field] - starts[field];
    }

    long parseLong(int field) {
        return Long.parseLong(text, starts[field], ends[field], 10);
    }

    /** Whether the field is exactly {@code s}. */
    boolean is(int field, String s) {
        return length(field) == s.length() && text.startsWith(s, starts[field]);
    }

    /** Whether the field starts with {@code prefix}. */
    boolean startsWith(int field, String prefix) {
        return length(field) >= prefix.length() && text.startsWith(prefix, starts[field]);
    }

    /** Whether the field is {@code major:minor}, as the cgroup files name a block device. */
    boolean isMajorMinor(int field) {
        int colon = -1;
        for (int i = starts[field]; i < ends[field]; i++) {
            char c = text.charAt(i);
            if (c == ':' && colon < 0) {
                colon = i;
            } else if (c < '0' || c > '9') {
                return false;
            }
        }
        return colon > starts[field] && colon < ends[field] - 1;
    }

    /** The end of the line starting at {@code from}: the index of its newline, or the text's length. */
    static int lineEnd(String text, int from) {
        int nl = text.indexOf('\n', from);
        return nl < 0 ? text.length() : nl;
    }
}
