package io.cmon.agent.plugin;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a plugin printed, parsed: a pure function of the text. Two formats, as cmon-agent has them:
 * <ul>
 *     <li><b>tab-separated</b>: one metric per line, {@code name<TAB>type<TAB>value[<TAB>help]}, type {@code gauge},
 *     {@code counter} or {@code option} (an option line, e.g. {@code ttl<TAB>option<TAB>300}, sets a plugin option
 *     and is not a metric); the name may carry labels ({@code bytes{interface="net0"}}); blank lines are ignored;</li>
 *     <li><b>Prometheus text</b> (exposition format 0.0.4) for a plugin whose file name contains {@code .prom}:
 *     {@code # HELP}, {@code # TYPE} (counter, gauge, untyped; histogram and summary series are kept as untyped
 *     series of their own names), samples with labels and an optional timestamp, which is dropped (the agent
 *     exposes what it reads now).</li>
 * </ul>
 * Every name gets the plugin's prefix ({@code plugin_<name>_}). One bad line makes the whole output bad, as in
 * cmon-agent: a plugin is either understood or reported unavailable, never half-read.
 *
 * <p>Counters keep the exact name the plugin gave: a counter named {@code …_total} is a counter; one without the
 * suffix (which client_java would rename) is exposed untyped with {@code counter, } in its HELP, as the seed
 * counters are.
 *
 * <p>The text parser is this class rather than a library: client_java writes the format but has no reader, and no
 * Java library on Maven Central parses it; what it accepts is the strict subset above.
 */
public final class PluginOutput {

    /** A metric or label name of the text format (the prefix makes the metric's start a letter anyway). */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    /** Go's ParseFloat forms as Prometheus writes them: decimal, exponent, ±Inf, NaN (no hex, no Java suffixes). */
    private static final Pattern NUMBER =
            Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf|infinity)|(?i:nan)");
    /** Names the agent itself writes for every plugin: a plugin may not shadow them. */
    private static final Set<String> RESERVED =
            Set.of("metrics_available_boolean", "metrics_cached_boolean", "metrics_timer_seconds");

    /** The metrics and the {@code option} lines (tab format) of one run. */
    public record Parsed(List<MetricSnapshot> metrics, Map<String, String> options) {
        public Parsed {
            metrics = List.copyOf(metrics);
            options = Map.copyOf(options);
        }
    }

    /** Output the agent does not accept; the message names the line and what is wrong with it. */
    public static final class BadOutput extends Exception {
        public BadOutput(String message) {
            super(message);
        }
    }

    private PluginOutput() {
    }

    /**
     * @param prefix {@code plugin_<name>_}
     * @param prom   Prometheus text (the file name contains {@code .prom}), else tab-separated
     */
    public static Parsed parse(String output, String prefix, boolean prom) throws BadOutput {
        return prom ? parseProm(output, prefix) : parseTabs(output, prefix);
    }

    // --- tab-separated -------------------------------------------------------------------------------------------

    static Parsed parseTabs(String output, String prefix) throws BadOutput {
        Families families = new Families(prefix);
        Map<String, String> options = new LinkedHashMap<>();
        String[] lines = output.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            if (f.length < 3 || f.length > 4) {
                throw bad(i, line, "expected 3 or 4 tab-separated fields (name, type, value[, help]), found "
                        + f.length);
            }
            String type = f[1];
            if (type.equals("option")) {
                if (!NAME.matcher(f[0]).matches()) throw bad(i, line, "bad option name '" + f[0] + "'");
                options.put(f[0], f[2]);
                continue;
            }
            if (!type.equals("gauge") && !type.equals("counter")) {
                throw bad(i, line, "type '" + type + "' is not gauge, counter or option");
            }
            String bare = f[0].replaceFirst("\\{.*", "");
            if (!NAME.matcher(bare).matches()) throw bad(i, line, "bad metric name '" + bare + "'");
            Sample sample = sample(i, line, f[0] + " " + f[2]);
            String help = f.length == 4 ? f[3] : bare;
            families.add(i, line, sample.name(), type, help, sample);
        }
        return new Parsed(families.build(), options);
    }

    // --- Prometheus text -----------------------------------------------------------------------------------------

    static Parsed parseProm(String output, String prefix) throws BadOutput {
        Families families = new Families(prefix);
        Map<String, String> types = new LinkedHashMap<>();
        Map<String, String> helps = new LinkedHashMap<>();
        String[] lines = output.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
            if (line.isBlank()) continue;
            if (line.startsWith("#")) {
                String[] words = line.substring(1).strip().split("[ \t]+", 3);
                if (words.length >= 2 && (words[0].equals("HELP") || words[0].equals("TYPE"))) {
                    String name = words[1];
                    if (!NAME.matcher(name).matches()) throw bad(i, line, "bad metric name '" + name + "'");
                    String text = words.length == 3 ? words[2] : "";
                    if (words[0].equals("TYPE")) {
                        if (!Set.of("counter", "gauge", "untyped", "histogram", "summary").contains(text)) {
                            throw bad(i, line, "unknown type '" + text + "'");
                        }
                        if (types.putIfAbsent(name, text) != null) throw bad(i, line, "second TYPE for " + name);
                    } else {
                        if (helps.putIfAbsent(name, unescapeHelp(text)) != null) {
                            throw bad(i, line, "second HELP for " + name);
                        }
                    }
                }
                continue; // any other comment
            }
            Sample sample = sample(i, line, line);
            String family = familyOf(sample.name(), types);
            String type = types.getOrDefault(family, "untyped");
            String help = helps.getOrDefault(family, family);
            switch (type) {
                case "counter" -> {
                    if (sample.name().equals(family + "_created")) continue; // a timestamp, not a value
                    families.add(i, line, sample.name(), "counter", help, sample);
                }
                case "gauge" -> families.add(i, line, sample.name(), "gauge", help, sample);
                // untyped, and the series of histograms and summaries under their own names
                default -> families.add(i, line, sample.name(), "untyped", help, sample);
            }
        }
        return new Parsed(families.build(), Map.of());
    }

    /** The family a sample belongs to: its own name, or the TYPEd name it extends with a standard suffix. */
    private static String familyOf(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) return sample;
        for (String suffix : new String[] {"_total", "_created", "_bucket", "_sum", "_count"}) {
            if (sample.endsWith(suffix)) {
                String base = sample.substring(0, sample.length() - suffix.length());
                if (types.containsKey(base)) return base;
            }
        }
        return sample;
    }

    private static String unescapeHelp(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                char n = text.charAt(++i);
                b.append(n == 'n' ? '\n' : n);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    // --- samples -------------------------------------------------------------------------------------------------

    private record Sample(String name, Labels labels, double value) { }

    /** {@code name[{labels}] value [timestamp]}; {@code text} is what to parse, {@code line} what to report. */
    private static Sample sample(int index, String line, String text) throws BadOutput {
        int at = 0;
        int n = text.length();
        while (at < n && (Character.isLetterOrDigit(text.charAt(at)) || text.charAt(at) == '_'
                || text.charAt(at) == ':')) {
            at++;
        }
        String name = text.substring(0, at);
        if (!NAME.matcher(name).matches()) throw bad(index, line, "bad metric name '" + name + "'");
        Labels labels = Labels.EMPTY;
        if (at < n && text.charAt(at) == '{') {
            List<String> names = new ArrayList<>();
            List<String> values = new ArrayList<>();
            at++;
            while (true) {
                at = skipBlanks(text, at);
                if (at < n && text.charAt(at) == '}') {
                    at++;
                    break;
                }
                int start = at;
                while (at < n && (Character.isLetterOrDigit(text.charAt(at)) || text.charAt(at) == '_')) at++;
                String label = text.substring(start, at);
                if (!LABEL_NAME.matcher(label).matches()) throw bad(index, line, "bad label name '" + label + "'");
                if (label.startsWith("__")) throw bad(index, line, "label names starting with __ are reserved");
                if (names.contains(label)) throw bad(index, line, "label " + label + " given twice");
                at = skipBlanks(text, at);
                if (at >= n || text.charAt(at) != '=') throw bad(index, line, "expected = after label " + label);
                at = skipBlanks(text, at + 1);
                if (at >= n || text.charAt(at) != '"') throw bad(index, line, "expected a quoted label value");
                StringBuilder value = new StringBuilder();
                at++;
                while (true) {
                    if (at >= n) throw bad(index, line, "unterminated label value");
                    char c = text.charAt(at++);
                    if (c == '"') break;
                    if (c == '\\') {
                        if (at >= n) throw bad(index, line, "unterminated label value");
                        char e = text.charAt(at++);
                        switch (e) {
                            case '\\' -> value.append('\\');
                            case '"' -> value.append('"');
                            case 'n' -> value.append('\n');
                            default -> throw bad(index, line, "bad escape \\" + e + " in a label value");
                        }
                    } else {
                        value.append(c);
                    }
                }
                names.add(label);
                values.add(value.toString());
                at = skipBlanks(text, at);
                if (at < n && text.charAt(at) == ',') {
                    at++;
                } else if (at >= n || text.charAt(at) != '}') {
                    throw bad(index, line, "expected , or } after a label");
                }
            }
            labels = Labels.of(names, values);
        }
        String[] rest = text.substring(at).strip().split("[ \t]+");
        if (rest.length < 1 || rest.length > 2 || rest[0].isEmpty()) {
            throw bad(index, line, "expected a value (and at most a timestamp) after the name");
        }
        if (at < n && text.charAt(at) != ' ' && text.charAt(at) != '\t') {
            throw bad(index, line, "expected a blank between the name and the value");
        }
        if (!NUMBER.matcher(rest[0]).matches()) throw bad(index, line, "'" + rest[0] + "' is not a number");
        if (rest.length == 2 && !rest[1].matches("-?[0-9]+")) {
            throw bad(index, line, "'" + rest[1] + "' is not a timestamp (integer milliseconds)");
        }
        return new Sample(name, labels, number(rest[0]));
    }

    private static double number(String s) {
        String lower = s.toLowerCase();
        if (lower.equals("nan")) return Double.NaN;
        if (lower.endsWith("inf") || lower.endsWith("infinity")) {
            return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        return Double.parseDouble(s);
    }

    private static int skipBlanks(String text, int at) {
        while (at < text.length() && (text.charAt(at) == ' ' || text.charAt(at) == '\t')) at++;
        return at;
    }

    private static BadOutput bad(int index, String line, String why) {
        String shown = line.length() > 120 ? line.substring(0, 120) + "…" : line;
        return new BadOutput("line " + (index + 1) + ": " + why + " ["
                + shown.replace("\t", "\\t").replaceAll("\\p{Cntrl}", "?") + "]");
    }

    // --- families ------------------------------------------------------------------------------------------------

    /** Samples grouped by name, in first-seen order; one type per name, one sample per label set. */
    private static final class Families {
        private final String prefix;
        private final Map<String, Family> byName = new LinkedHashMap<>();

        Families(String prefix) {
            this.prefix = prefix;
        }

        void add(int index, String line, String name, String type, String help, Sample sample) throws BadOutput {
            if (RESERVED.contains(name)) throw bad(index, line, name + " is reserved for the agent's own metrics");
            Family f = byName.computeIfAbsent(name, k -> new Family(type, help));
            if (!f.type.equals(type)) {
                throw bad(index, line, name + " is already a " + f.type + ", not a " + type);
            }
            if (!f.labelSets.add(sample.labels())) throw bad(index, line, "second sample of " + name
                    + " with the same labels");
            f.samples.add(sample);
        }

        List<MetricSnapshot> build() throws BadOutput {
            List<MetricSnapshot> out = new ArrayList<>(byName.size());
            for (Map.Entry<String, Family> e : byName.entrySet()) {
                try {
                    out.add(e.getValue().build(prefix + e.getKey()));
                } catch (IllegalArgumentException invalid) {
                    // what client_java refuses beyond the syntax, e.g. a negative counter
                    throw new BadOutput(e.getKey() + ": " + invalid.getMessage());
                }
            }
            return out;
        }
    }

    private static final class Family {
        final String type;
        final String help;
        final Set<Labels> labelSets = new HashSet<>();
        final List<Sample> samples = new ArrayList<>();

        Family(String type, String help) {
            this.type = type;
            this.help = help;
        }

        MetricSnapshot build(String name) {
            if (type.equals("gauge")) {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
                samples.forEach(s -> b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                        .labels(s.labels()).value(s.value()).build()));
                return b.build();
            }
            if (type.equals("counter") && name.endsWith("_total")) {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
                samples.forEach(s -> b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                        .labels(s.labels()).value(s.value()).build()));
                return b.build();
            }
            UnknownSnapshot.Builder b = UnknownSnapshot.builder().name(name)
                    .help(type.equals("counter") ? "counter, " + help : help);
            samples.forEach(s -> b.dataPoint(UnknownSnapshot.UnknownDataPointSnapshot.builder()
                    .labels(s.labels()).value(s.value()).build()));
            return b.build();
        }
    }
}
