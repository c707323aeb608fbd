package io.cmon.proxy.admin;

import io.cmon.api.InstancesPage;
import io.cmon.config.ProxyConfig;
import io.cmon.proxy.auth.Account;
import io.cmon.proxy.auth.AccountStore;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.FleetInstance;
import io.cmon.proxy.inventory.FleetInventory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.owasp.encoder.Encode;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The operators' fleet status page on the admin listener ({@code GET /} and {@code /status.html}): one
 * self-contained HTML document (inline CSS, no scripts, a meta refresh), rendered from what {@code /status} reads
 * (the {@link FleetInventory}, the accounts, the listeners' connection counts) plus the proxy's own counters
 * (authentication failures by reason, refused connections).
 *
 * <p>Owners, aliases, hostnames, agent errors and source errors come from container labels and agents, so every
 * string is HTML-encoded here, in this one place, and nothing on the page is a link or a script.
 */
public final class StatusPage {

    /** How often the browser reloads the page. */
    static final int REFRESH_SECONDS = 10;
    /** Rows of the list of instances no tenant can discover: enough to spot a mislabelled host, no more. */
    static final int MAX_ORPHANS = 50;
    /** The metrics the page reads from the proxy's registry (a scrape of only these, not of the JVM's). */
    static final String AUTH_FAILURES = "cmon_proxy_auth_failures";
    static final String THROTTLED = "cmon_proxy_throttled_requests";
    static final String REFUSED = "cmon_proxy_connections_refused";
    static final String HANDSHAKE_FAILURES = "cmon_proxy_tls_handshake_failures";

    private final FleetInventory inventory;
    private final AccountStore accounts;
    private final PrometheusRegistry registry;
    private final ProxyConfig config;
    private final IntSupplier tenantConnections;
    private final IntSupplier adminConnections;
    private final LongSupplier clockMs;

    public StatusPage(FleetInventory inventory, AccountStore accounts, PrometheusRegistry registry, ProxyConfig config,
                      IntSupplier tenantConnections, IntSupplier adminConnections, LongSupplier clockMs) {
        this.inventory = inventory;
        this.accounts = accounts;
        this.registry = registry;
        this.config = config;
        this.tenantConnections = tenantConnections;
        this.adminConnections = adminConnections;
        this.clockMs = clockMs;
    }

    /** The page, UTF-8. */
    public byte[] render() {
        long now = clockMs.getAsLong();
        List<AgentView> agents = inventory.agents();
        MetricSnapshots counters = registry.scrape(name -> name.equals(AUTH_FAILURES) || name.equals(THROTTLED)
                || name.equals(REFUSED) || name.equals(HANDSHAKE_FAILURES));
        Html h = new Html();
        h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .raw("<meta http-equiv=\"refresh\" content=\"" + REFRESH_SECONDS + "\">")
                .raw("<title>cmon proxy ").text(config.endpoint()).raw(" — fleet status</title>")
                .raw("<style>").raw(CSS).raw("</style></head><body>\n");
        h.raw("<h1>cmon proxy <code>").text(config.endpoint()).raw("</code></h1>\n");
        String notReady = inventory.notReadyReason();
        h.raw("<p class=\"meta\">");
        if (notReady == null) h.raw("<span class=\"badge up\">synced</span> discovery answers");
        else h.raw("<span class=\"badge down\">not ready</span> discovery answers 503: ").text(notReady);
        h.raw(" · rendered ").text(Instant.ofEpochMilli(now).toString())
                .raw(" · refreshes every " + REFRESH_SECONDS + " s · JSON: <code>/status</code></p>\n");

        summary(h, agents);
        agents(h, agents, now);
        instances(h);
        conflicts(h, agents);
        authFailures(h, counters);
        limits(h, counters);
        h.raw("</body></html>\n");
        return h.bytes();
    }

    private void summary(Html h, List<AgentView> agents) {
        long up = agents.stream().filter(AgentView::up).count();
        h.raw("<div class=\"tiles\">");
        tile(h, "agents up", up + " / " + agents.size(), up < agents.size() ? "down" : "up");
        tile(h, "instances", Integer.toString(inventory.instanceCount()), "");
        tile(h, "owners", Integer.toString(inventory.ownerCount()), "");
        tile(h, "accounts", Integer.toString(accounts.size()), "");
        int conflicts = inventory.conflicts().size();
        tile(h, "identity conflicts", Integer.toString(conflicts), conflicts > 0 ? "down" : "up");
        h.raw("</div>\n");
    }

    private static void tile(Html h, String label, String value, String state) {
        h.raw("<div class=\"tile " + state + "\"><div class=\"value\">").text(value)
                .raw("</div><div class=\"label\">").text(label).raw("</div></div>");
    }

    private void agents(Html h, List<AgentView> agents, long now) {
        h.raw("<h2>Agents</h2>\n");
        if (agents.isEmpty()) {
            h.raw("<p class=\"empty\">no agents configured</p>\n");
            return;
        }
        h.raw("<table id=\"agents\"><thead><tr><th>agent</th><th>state</th><th>server</th><th>version</th><th>instances</th>")
                .raw("<th>watch lag</th><th>sources</th><th>last error</th></tr></thead><tbody>\n");
        for (AgentView a : agents) {
            h.raw("<tr class=\"agent\" data-agent=\"").attr(a.endpoint().toString()).raw("\" data-state=\"")
                    .raw(a.up() ? "up" : "down").raw("\"><td><code>").text(a.endpoint().toString()).raw("</code></td><td>");
            if (a.up()) h.raw("<span class=\"badge up\">up</span>");
            else if (a.attempted()) h.raw("<span class=\"badge down\">down</span>");
            else h.raw("<span class=\"badge wait\">not reached yet</span>");
            h.raw("</td><td>").text(a.hostname() == null ? "" : a.hostname()).raw("<br><small><code>")
                    .text(a.serverUuid() == null ? "" : a.serverUuid()).raw("</code></small></td><td>")
                    .text(a.version() != null ? a.version() : a.lastAnswerMs() > 0 ? "not reported" : "").raw("</td><td class=\"num\">")
                    .raw(Integer.toString(a.instances())).raw("</td><td class=\"num\">")
                    .text(a.lastAnswerMs() > 0 ? lag(now - a.lastAnswerMs()) : "never answered").raw("</td><td>");
            for (InstancesPage.Source s : a.sources()) {
                h.raw("<div class=\"source\"><span class=\"badge ").raw(s.up() ? "up" : "down").raw("\">")
                        .text(s.name()).raw("</span> ").text(s.eventsSeen() + " events, " + s.resyncs() + " resyncs");
                if (s.lastError() != null) h.raw("<br><small class=\"err\">").text(s.lastError()).raw("</small>");
                h.raw("</div>");
            }
            if (a.sources().isEmpty()) h.raw("<small>not reported</small>");
            h.raw("</td><td class=\"err\">").text(a.lastError() == null ? "" : a.lastError()).raw("</td></tr>\n");
        }
        h.raw("</tbody></table>\n");
    }

    /** Watch lag as people read it: long-polls answer at least every 300 s, so more than that means trouble. */
    static String lag(long ms) {
        Duration d = Duration.ofMillis(Math.max(0, ms));
        if (d.toSeconds() < 120) return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
        if (d.toMinutes() < 120) return d.toMinutes() + " min";
        return d.toHours() + " h";
    }

    private void instances(Html h) {
        // owner (as labelled) -> state -> count; states as the agents report them
        Map<String, Map<String, Integer>> byOwner = new TreeMap<>();
        Map<String, Integer> byState = new TreeMap<>();
        List<FleetInstance> noAccount = new java.util.ArrayList<>();
        for (FleetInstance i : inventory.instances()) {
            if (i.owner() == null || accountOf(i.owner()).isEmpty()) noAccount.add(i);
            String owner = i.owner() == null ? "" : i.owner();
            String state = i.state() == null ? "unknown" : i.state();
            byOwner.computeIfAbsent(owner, k -> new TreeMap<>()).merge(state, 1, Integer::sum);
            byState.merge(state, 1, Integer::sum);
        }
        h.raw("<h2>Instances</h2>\n<table id=\"states\"><thead><tr><th>state</th><th>instances</th></tr></thead><tbody>");
        for (Map.Entry<String, Integer> e : byState.entrySet()) {
            h.raw("<tr data-state=\"").attr(e.getKey()).raw("\"><td>").text(e.getKey())
                    .raw("</td><td class=\"num\">" + e.getValue() + "</td></tr>");
        }
        if (byState.isEmpty()) h.raw("<tr><td colspan=\"2\" class=\"empty\">no instances</td></tr>");
        h.raw("</tbody></table>\n");

        TreeSet<String> states = new TreeSet<>(byState.keySet());
        h.raw("<h3>Per owner</h3>\n<table id=\"owners\"><thead><tr><th>owner</th><th>account</th><th>instances</th>");
        for (String s : states) h.raw("<th>").text(s).raw("</th>");
        h.raw("</tr></thead><tbody>\n");
        for (Map.Entry<String, Map<String, Integer>> e : byOwner.entrySet()) {
            String owner = e.getKey();
            int total = e.getValue().values().stream().mapToInt(Integer::intValue).sum();
            h.raw("<tr class=\"owner\" data-owner=\"").attr(owner).raw("\" data-count=\"" + total + "\"><td><code>")
                    .text(owner.isEmpty() ? "(no owner label)" : owner).raw("</code></td><td>").text(account(owner))
                    .raw("</td><td class=\"num\">" + total + "</td>");
            for (String s : states) h.raw("<td class=\"num\">" + e.getValue().getOrDefault(s, 0) + "</td>");
            h.raw("</tr>\n");
        }
        h.raw("</tbody></table>\n");
        orphans(h, noAccount);
    }

    /** Instances no tenant can discover: no owner label, or one naming no account (often a label typo). */
    private static void orphans(Html h, List<FleetInstance> noAccount) {
        if (noAccount.isEmpty()) return;
        noAccount.sort(java.util.Comparator.comparing(FleetInstance::vmUuid));
        h.raw("<h3>Not discoverable by any tenant (no owner, or no such account)</h3>\n<table id=\"orphans\"><thead>")
                .raw("<tr><th>instance uuid</th><th>alias</th><th>owner label</th><th>agent</th></tr></thead><tbody>\n");
        for (FleetInstance i : noAccount.subList(0, Math.min(MAX_ORPHANS, noAccount.size()))) {
            h.raw("<tr><td><code>").text(i.vmUuid()).raw("</code></td><td>").text(i.alias()).raw("</td><td><code>")
                    .text(i.owner()).raw("</code></td><td>").text(i.agent().toString()).raw("</td></tr>\n");
        }
        if (noAccount.size() > MAX_ORPHANS) {
            h.raw("<tr><td colspan=\"4\" class=\"empty\">and " + (noAccount.size() - MAX_ORPHANS) + " more</td></tr>");
        }
        h.raw("</tbody></table>\n");
    }

    private java.util.Optional<Account> accountOf(String owner) {
        return accounts.byLogin(owner).or(() -> accounts.byUuid(owner));
    }

    /** The login of an owner labelled by account uuid, the uuid of one labelled by login; "no such account" else. */
    private String account(String owner) {
        if (owner.isEmpty()) return "operators only";
        return accountOf(owner).map(x -> x.login().equals(owner) ? x.uuid() : x.login())
                .orElse("no such account: served to operators only");
    }

    private void conflicts(Html h, List<AgentView> agents) {
        h.raw("<h2>Identity collisions</h2>\n");
        List<FleetInventory.Conflict> conflicts = inventory.conflicts();
        boolean duplicates = agents.stream().anyMatch(a -> !a.duplicateUuids().isEmpty());
        if (conflicts.isEmpty() && !duplicates) {
            h.raw("<p class=\"empty\">none: every instance uuid is claimed once</p>\n");
            return;
        }
        h.raw("<p>Served to nobody (tenants get 404, operators 409) until all but one claim are gone.</p>")
                .raw("<table id=\"conflicts\"><thead><tr><th>instance uuid</th><th>claimed by</th></tr></thead><tbody>\n");
        for (FleetInventory.Conflict c : conflicts) {
            h.raw("<tr><td><code>").text(c.vmUuid()).raw("</code></td><td>")
                    .text(String.join(", ", c.agents().stream().map(Object::toString).toList())).raw("</td></tr>\n");
        }
        for (AgentView a : agents) {
            for (String uuid : a.duplicateUuids()) {
                h.raw("<tr><td><code>").text(uuid).raw("</code></td><td>").text(a.endpoint() + " (listed twice)")
                        .raw("</td></tr>\n");
            }
        }
        h.raw("</tbody></table>\n");
    }

    private void authFailures(Html h, MetricSnapshots counters) {
        h.raw("<h2>Authentication failures</h2>\n<p class=\"meta\">401s since the proxy started, by the reason in ")
                .raw("their body (docs/tenant-guide.md, troubleshooting, says what each means)</p>")
                .raw("<table id=\"auth\"><thead><tr><th>reason</th><th>requests</th></tr></thead><tbody>");
        Map<String, Double> reasons = byLabel(counters, AUTH_FAILURES, "reason");
        for (Map.Entry<String, Double> e : reasons.entrySet()) {
            h.raw("<tr data-reason=\"").attr(e.getKey()).raw("\"><td>").text(e.getKey()).raw("</td><td class=\"num\">")
                    .raw(count(e.getValue())).raw("</td></tr>");
        }
        if (reasons.isEmpty()) h.raw("<tr><td colspan=\"2\" class=\"empty\">none</td></tr>");
        h.raw("</tbody></table>\n");
    }

    private void limits(Html h, MetricSnapshots counters) {
        ProxyConfig.Limits l = config.limits();
        int adminMax = Math.max(16, l.maxConnections() / 10); // as Proxy sizes the admin listener's guard
        h.raw("<h2>Limits and headroom</h2>\n<table id=\"limits\"><thead><tr><th>limit</th><th>in use</th>")
                .raw("<th>configured</th><th>headroom</th></tr></thead><tbody>\n");
        gauge(h, "tenant connections (limits.maxConnections)", tenantConnections.getAsInt(), l.maxConnections());
        gauge(h, "admin connections", adminConnections.getAsInt(), adminMax);
        plain(h, "connections per source address (limits.maxConnectionsPerSource)", l.maxConnectionsPerSource().toString());
        plain(h, "per-account rate (rateLimit)", fmt(config.rateLimit().rate()) + " req/s, burst "
                + config.rateLimit().burst());
        plain(h, "failed authentications per source (limits.authFailureRate/Burst)", fmt(l.authFailureRate())
                + " /s, burst " + l.authFailureBurst());
        plain(h, "request timeout (timeouts.request)", config.timeouts().request());
        plain(h, "header deadline / idle timeout (limits.headerTimeout/idleTimeout)",
                l.headerTimeout() + " / " + l.idleTimeout());
        plain(h, "largest agent answer (maxResponseBytes)", config.maxResponseBytes());
        h.raw("</tbody></table>\n<h3>Refused so far</h3>\n<table id=\"refused\"><thead><tr><th>what</th>")
                .raw("<th>count</th></tr></thead><tbody>");
        row(h, "requests over an account's rate (429)", total(counters, THROTTLED));
        row(h, "TLS handshake failures (tenant listener)", total(counters, HANDSHAKE_FAILURES));
        byTwoLabels(counters, REFUSED, "listener", "reason")
                .forEach((k, v) -> row(h, "connections refused: " + k, v));
        h.raw("</tbody></table>\n");
    }

    private static void gauge(Html h, String label, int used, int max) {
        int pct = max <= 0 ? 0 : (int) Math.min(100, Math.round(100.0 * used / max));
        String level = pct >= 90 ? "down" : pct >= 70 ? "wait" : "up";
        h.raw("<tr><td>").text(label).raw("</td><td class=\"num\">" + used + "</td><td class=\"num\">" + max
                + "</td><td><div class=\"bar\"><div class=\"fill " + level + "\" style=\"width:" + pct + "%\"></div></div>"
                + (max - used) + " free (" + (100 - pct) + " %)</td></tr>\n");
    }

    private static void plain(Html h, String label, String value) {
        h.raw("<tr><td>").text(label).raw("</td><td></td><td class=\"num\">").text(value).raw("</td><td></td></tr>\n");
    }

    private static void row(Html h, String label, double value) {
        h.raw("<tr><td>").text(label).raw("</td><td class=\"num\">").raw(count(value)).raw("</td></tr>");
    }

    private static String fmt(Double d) {
        return d == Math.rint(d) ? Long.toString(d.longValue()) : d.toString();
    }

    private static String count(double v) {
        return Long.toString((long) v);
    }

    private static Map<String, Double> byLabel(MetricSnapshots snapshots, String name, String label) {
        Map<String, Double> out = new TreeMap<>();
        for (MetricSnapshot s : snapshots) {
            if (!s.getMetadata().getName().equals(name) || !(s instanceof CounterSnapshot c)) continue;
            for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                out.merge(p.getLabels().get(label), p.getValue(), Double::sum);
            }
        }
        return out;
    }

    private static Map<String, Double> byTwoLabels(MetricSnapshots snapshots, String name, String a, String b) {
        Map<String, Double> out = new TreeMap<>();
        for (MetricSnapshot s : snapshots) {
            if (!s.getMetadata().getName().equals(name) || !(s instanceof CounterSnapshot c)) continue;
            for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                out.merge(p.getLabels().get(a) + " listener, " + p.getLabels().get(b), p.getValue(), Double::sum);
            }
        }
        return out;
    }

    private static double total(MetricSnapshots snapshots, String name) {
        double sum = 0;
        for (MetricSnapshot s : snapshots) {
            if (!s.getMetadata().getName().equals(name) || !(s instanceof CounterSnapshot c)) continue;
            for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) sum += p.getValue();
        }
        return sum;
    }

    /** Markup in, and text that is always encoded: the page's one way to add untrusted strings. */
    private static final class Html {
        private final StringBuilder out = new StringBuilder(16384);

        Html raw(String markup) {
            out.append(markup);
            return this;
        }

        Html text(String untrusted) {
            out.append(Encode.forHtmlContent(untrusted == null ? "" : untrusted));
            return this;
        }

        Html attr(String untrusted) {
            out.append(Encode.forHtmlAttribute(untrusted == null ? "" : untrusted));
            return this;
        }

        byte[] bytes() {
            return out.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private static final String CSS = """
            body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:14px;margin:16px 0 6px}
            code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}.meta{color:#5b6475;margin:4px 0 12px}
            table{border-collapse:collapse;background:#fff;min-width:480px;box-shadow:0 1px 2px #0001}
            th,td{border-bottom:1px solid #e3e6eb;padding:6px 10px;text-align:left;vertical-align:top}
            th{background:#eef1f5;font-weight:600;font-size:12px;text-transform:uppercase;color:#4a5263}
            td.num{text-align:right;font-variant-numeric:tabular-nums}.err{color:#a3261a}small{color:#5b6475}
            .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
            .badge.up{background:#1f8a4c}.badge.down{background:#c0392b}.badge.wait{background:#c98a0b}
            .tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#fff;padding:10px 16px;min-width:120px;
            border-left:5px solid #8a93a5;box-shadow:0 1px 2px #0001}.tile.up{border-color:#1f8a4c}
            .tile.down{border-color:#c0392b}.tile .value{font-size:22px;font-weight:700}.tile .label{color:#5b6475}
            .bar{display:inline-block;width:120px;height:8px;background:#e3e6eb;margin-right:8px;vertical-align:middle}
            .fill{height:8px}.fill.up{background:#1f8a4c}.fill.wait{background:#c98a0b}.fill.down{background:#c0392b}
            .empty{color:#5b6475;font-style:italic}.source{margin-bottom:2px}
            """;
}
