#!/usr/bin/env python3
"""Generate wattlet's Grafana dashboards (helm/wattlet/dashboards/*.json).

The JSON files are committed and shipped by the chart (grafanaDashboards.enabled); this
script is their source: edit the panels here and run `python3 hack/dashboards.py`
(`--check` exits 1 when a committed file differs from what it would write).
docs/dashboards.md says what each dashboard shows; test/e2e/dashboards_test.go validates
them against Grafana's schema and runs every query on a real Prometheus.

Every query uses the agent's default (lean) series (docs/metrics.md) and the chart's
recording rules (helm/wattlet/rules/wattlet.rules.yaml); `node` is the target label the
chart's ServiceMonitor adds. Zones nest (package holds core and uncore): panels show
one zone at a time ($zone) or keep zones apart, never add them.
"""
import json
import os
import sys

SCHEMA_VERSION = 42  # Grafana 12
DS = {"type": "prometheus", "uid": "${datasource}"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helm", "wattlet", "dashboards")

# --- variables -------------------------------------------------------------------------


def var_datasource():
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {"text": "", "value": ""}, "hide": 0, "includeAll": False,
            "multi": False, "options": [], "refresh": 1, "regex": ""}


def var_query(name, label, query, multi=False, include_all=False, current=None):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "definition": query,
         "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "current": current or {"text": "", "value": ""}, "hide": 0, "includeAll": include_all, "multi": multi,
         "options": [], "refresh": 2, "regex": "", "sort": 1}
    if include_all:
        v["allValue"] = ".*"
    return v


ZONE = var_query("zone", "Zone", "label_values(wattlet_pod_joules_total, zone)",
                 current={"selected": True, "text": "package", "value": "package"})

# --- panels ----------------------------------------------------------------------------


class Layout:
    """Places panels left to right in rows of 24 columns and numbers them."""

    def __init__(self):
        self.x, self.y, self.row_h, self.next_id = 0, 0, 0, 1

    def place(self, p, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        p["id"] = self.next_id
        p["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        return p


def target(ref, expr, legend, instant):
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t.update({"instant": True, "range": False, "format": "table"})
    else:
        t.update({"instant": False, "range": True, "format": "time_series"})
    return t


def targets(queries, instant):
    """queries: [(expr, legend), ...] -> targets A, B, ..."""
    return [target(chr(ord("A") + i), e, l, instant) for i, (e, l) in enumerate(queries)]


def base(kind, title, desc, unit, queries, instant):
    return {"type": kind, "title": title, "description": desc, "datasource": DS,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": targets(queries, instant)}


def stat(title, desc, unit, queries):
    p = base("stat", title, desc, unit, queries, True)
    p["options"] = {"colorMode": "value", "graphMode": "none", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "value_and_name", "wideLayout": True,
                    "showPercentChange": False, "percentChangeColorMode": "standard",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    # a stat shows the target's legend as the name of each value
    p["targets"] = [dict(t, format="time_series") for t in p["targets"]]
    return p


def timeseries(title, desc, unit, queries, stack=False):
    p = base("timeseries", title, desc, unit, queries, False)
    p["fieldConfig"]["defaults"]["custom"] = {
        "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
        "showPoints": "never", "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    p["options"] = {"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                               "calcs": ["lastNotNull", "mean"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}}
    return p


def table(title, desc, unit, queries, merge=False):
    p = base("table", title, desc, unit, queries, True)
    p["options"] = {"showHeader": True, "cellHeight": "sm", "frameIndex": 0,
                    "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""}}
    tr = [{"id": "merge", "options": {}}] if merge else []
    tr.append({"id": "organize", "options": {"excludeByName": {"Time": True}}})
    p["transformations"] = tr
    return p


def dashboard(uid, title, desc, variables, panels):
    lay = Layout()
    placed = [lay.place(p, w, h) for (p, w, h) in panels]
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": desc,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [{"title": "wattlet", "type": "dashboards", "tags": ["wattlet"], "asDropdown": True,
                   "includeVars": False, "keepTime": True, "icon": "external link",
                   "targetBlank": False, "tooltip": "", "url": ""}],
        "panels": placed,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["wattlet", "energy"],
        "templating": {"list": [var_datasource()] + variables},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
    }


RI = "$__rate_interval"

# --- panels the namespace and workload dashboards share, for the series matching sel ------


def energy_by_pod(sel):
    return table("Energy by pod in the time range ($zone)", "increase() over the dashboard's time range.", "joule",
                 [(f"sort_desc(sum by (pod) (increase(wattlet_pod_joules_total{{{sel}}}[$__range])))", "{{pod}}")])


def cpu_by_container(sel):
    return timeseries("CPU by container", "CPU cores per container.", "none",
                      [(f'sum by (pod, container) (rate(wattlet_workload_cpu_seconds_total{{{sel}, container!=""}}[{RI}]))',
                        "{{pod}}/{{container}}")])


# --- the four dashboards ----------------------------------------------------------------


def cluster():
    node_var = var_query("node", "Node", "label_values(wattlet_node_joules_total, node)",
                         multi=True, include_all=True,
                         current={"selected": True, "text": ["All"], "value": ["$__all"]})
    n = 'node=~"$node"'
    return dashboard(
        "wattlet-cluster", "wattlet / Cluster",
        "Energy of the whole cluster: node power by zone (idle and dynamic), power and energy by "
        "namespace and owner, energy sources and the agents' own cost.",
        [ZONE, node_var],
        [
            (stat("Node power now", "Sum over the selected nodes of each zone's power in the agents' "
                  "last tick (idle + dynamic). Zones nest: do not add them.", "watt",
                  [(f"sum by (zone) (wattlet_node_watts{{{n}}})", "{{zone}}")]), 8, 4),
            (stat("Nodes", "Agents reporting.", "none",
                  [(f"count(wattlet_agent_info{{{n}}})", "nodes")]), 4, 4),
            (stat("Pods measured", "Pods with energy series (running or retained after they ended).", "none",
                  [(f'count(count by (namespace, pod) (wattlet_pod_joules_total{{{n}, namespace!=""}}))', "pods")]), 4, 4),
            (stat("Outside pods ($zone)", "Power of the `system` row: the kernel, the kubelet, the "
                  "container runtime and everything not in a pod.", "watt",
                  [(f'sum(rate(wattlet_workload_joules_total{{{n}, workload="system", zone="$zone"}}[{RI}]))', "system")]), 4, 4),
            (stat("Agents' CPU", "CPU cores used by the wattlet agents themselves.", "none",
                  [(f"sum(rate(wattlet_agent_cpu_seconds_total{{{n}}}[{RI}]))", "cores")]), 4, 4),
            (timeseries("Node power by zone, idle and dynamic", "Recording rule "
                        "node_zone_mode:wattlet_node_joules:rate5m summed over the selected nodes.", "watt",
                        [(f"sum by (zone, mode) (node_zone_mode:wattlet_node_joules:rate5m{{{n}}})", "{{zone}} {{mode}}")]), 12, 9),
            (timeseries("Power by namespace ($zone, top 10)", "Recording rule "
                        "namespace_zone:wattlet_pod_joules:rate5m (all nodes). Namespaces are disjoint: stacked.", "watt",
                        [('topk(10, namespace_zone:wattlet_pod_joules:rate5m{zone="$zone"})', "{{namespace}}")], stack=True), 12, 9),
            (timeseries("Power by owner ($zone, top 10)", "Recording rule namespace_owner_zone:wattlet_pod_joules:rate5m: "
                        "Deployments, StatefulSets, DaemonSets, Jobs, ... (all nodes).", "watt",
                        [('topk(10, namespace_owner_zone:wattlet_pod_joules:rate5m{zone="$zone"})',
                          "{{namespace}}/{{owner_kind}}/{{owner_name}}")], stack=True), 12, 9),
            (table("Energy by namespace in the time range ($zone)", "increase() of each pod's counter over "
                   "the dashboard's time range, summed per namespace.", "joule",
                   [(f'sort_desc(sum by (namespace) (increase(wattlet_pod_joules_total{{{n}, zone="$zone", namespace!=""}}[$__range])))',
                     "{{namespace}}")]), 12, 9),
            (table("Energy source per node", "Where each node's energy comes from: meter, model (a "
                   "PowerModel's regression), meter+model or none, and the model's name.", "none",
                   [(f"wattlet_node_energy_source_info{{{n}}}", "{{node}} {{source}} {{model}}")]), 24, 6),
        ])


def namespace():
    ns_var = var_query("namespace", "Namespace",
                       "label_values(namespace_zone:wattlet_pod_joules_total:sum, namespace)")
    ns, z = 'namespace="$namespace"', 'zone="$zone"'
    return dashboard(
        "wattlet-namespace", "wattlet / Namespace",
        "One namespace: its power and energy (recording rules), by pod and by owner, CPU by "
        "container, CO2e where an EnergyPolicy gives a carbon intensity.",
        [ZONE, ns_var],
        [
            (stat("Power ($zone)", "namespace_zone:wattlet_pod_joules:rate5m: the namespace's pods, 5-minute rate.", "watt",
                  [(f"namespace_zone:wattlet_pod_joules:rate5m{{{ns}, {z}}}", "{{zone}}")]), 6, 4),
            (stat("Energy since the agents started ($zone)", "namespace_zone:wattlet_pod_joules_total:sum: the sum of "
                  "the namespace's pod counters (pods leave the sum when their ledger rows expire).", "joule",
                  [(f"namespace_zone:wattlet_pod_joules_total:sum{{{ns}, {z}}}", "{{zone}}")]), 6, 4),
            (stat("CPU", "namespace:wattlet_workload_cpu_seconds:rate5m: CPU cores used by the namespace's containers.", "none",
                  [(f"namespace:wattlet_workload_cpu_seconds:rate5m{{{ns}}}", "cores")]), 6, 4),
            (stat("CO2e", "namespace:wattlet_pod_co2e_grams_total:sum: grams CO2e of pods under an EnergyPolicy "
                  "with a carbon intensity (no data without one).", "massg",
                  [(f"namespace:wattlet_pod_co2e_grams_total:sum{{{ns}}}", "CO2e")]), 6, 4),
            (timeseries("Power by pod ($zone)", "Each pod's counter as a rate; pods are disjoint: stacked.", "watt",
                        [(f"sum by (pod) (rate(wattlet_pod_joules_total{{{ns}, {z}}}[{RI}]))", "{{pod}}")], stack=True), 12, 9),
            (timeseries("Power by owner ($zone)", "namespace_owner_zone:wattlet_pod_joules:rate5m.", "watt",
                        [(f"namespace_owner_zone:wattlet_pod_joules:rate5m{{{ns}, {z}}}", "{{owner_kind}}/{{owner_name}}")],
                        stack=True), 12, 9),
            (energy_by_pod(f"{ns}, {z}"), 8, 9),
            (table("Energy by owner since the agents started ($zone)", "namespace_owner_zone:wattlet_pod_joules_total:sum.", "joule",
                   [(f"sort_desc(namespace_owner_zone:wattlet_pod_joules_total:sum{{{ns}, {z}}})",
                     "{{owner_kind}}/{{owner_name}}")]), 8, 9),
            (cpu_by_container(ns), 8, 9),
        ])


def workload():
    src = "namespace_owner_zone:wattlet_pod_joules_total:sum"
    variables = [
        ZONE,
        var_query("namespace", "Namespace", f"label_values({src}, namespace)"),
        var_query("owner_kind", "Owner kind", f'label_values({src}{{namespace="$namespace"}}, owner_kind)'),
        var_query("owner", "Owner", f'label_values({src}{{namespace="$namespace", owner_kind="$owner_kind"}}, owner_name)'),
    ]
    own = 'namespace="$namespace", owner_kind="$owner_kind", owner_name="$owner"'
    z = 'zone="$zone"'
    return dashboard(
        "wattlet-workload", "wattlet / Workload",
        "One owner (Deployment, StatefulSet, DaemonSet, Job, ...; a bare pod is its own owner): "
        "its power and energy (recording rules), by pod and container, and its CPU.",
        variables,
        [
            (stat("Power ($zone)", "namespace_owner_zone:wattlet_pod_joules:rate5m: the owner's pods, 5-minute rate.", "watt",
                  [(f"namespace_owner_zone:wattlet_pod_joules:rate5m{{{own}, {z}}}", "{{zone}}")]), 6, 4),
            (stat("Energy since the agents started ($zone)", "namespace_owner_zone:wattlet_pod_joules_total:sum.", "joule",
                  [(f"namespace_owner_zone:wattlet_pod_joules_total:sum{{{own}, {z}}}", "{{zone}}")]), 6, 4),
            (stat("Pods", "Pods of this owner with energy series (running, or retained after they ended).", "none",
                  [(f"count(count by (pod) (wattlet_pod_joules_total{{{own}}}))", "pods")]), 6, 4),
            (stat("CPU", "CPU cores used by the owner's containers.", "none",
                  [(f"sum(rate(wattlet_workload_cpu_seconds_total{{{own}}}[{RI}]))", "cores")]), 6, 4),
            (timeseries("Power by pod ($zone)", "Each of the owner's pods (the whole pod: containers, sandbox, "
                        "pod cgroup); stacked.", "watt",
                        [(f"sum by (pod) (rate(wattlet_pod_joules_total{{{own}, {z}}}[{RI}]))", "{{pod}}")], stack=True), 12, 9),
            (timeseries("Power by container ($zone)", "Each container of the owner's pods.", "watt",
                        [(f'sum by (pod, container) (rate(wattlet_workload_joules_total{{{own}, {z}, container!=""}}[{RI}]))',
                          "{{pod}}/{{container}}")], stack=True), 12, 9),
            (energy_by_pod(f"{own}, {z}"), 12, 9),
            (cpu_by_container(own), 12, 9),
        ])


def node():
    node_var = var_query("node", "Node", "label_values(wattlet_node_joules_total, node)")
    n, z = 'node="$node"', 'zone="$zone"'
    return dashboard(
        "wattlet-node", "wattlet / Node",
        "One node: power by zone split into idle and dynamic, the idle power in use and where it "
        "comes from, the energy source, the busiest pods, and the agent's own overhead.",
        [node_var, ZONE],
        [
            (stat("Power now", "Each zone's power in the agent's last tick (idle + dynamic). Zones nest: do not add them.",
                  "watt", [(f"sum by (zone) (wattlet_node_watts{{{n}}})", "{{zone}}")]), 8, 4),
            (stat("Idle power in use", "wattlet_node_idle_watts and its source (configured, model, learned-*, "
                  "class, fallback, none).", "watt",
                  [(f"wattlet_node_idle_watts{{{n}}}", "{{zone}} ({{source}})")]), 8, 4),
            (stat("Live workloads", "Cgroups the agent saw in its last tick (system excluded).", "none",
                  [(f"wattlet_agent_workloads{{{n}}}", "workloads")]), 8, 4),
            (timeseries("Power by zone: idle and dynamic", "rate() of wattlet_node_joules_total per zone and mode.", "watt",
                        [(f"sum by (zone, mode) (rate(wattlet_node_joules_total{{{n}}}[{RI}]))", "{{zone}} {{mode}}")]), 12, 9),
            (timeseries("Idle power and its source", "The idle power each zone's energy is split with; the legend "
                        "names its source.", "watt",
                        [(f"wattlet_node_idle_watts{{{n}}}", "{{zone}} {{source}}")]), 12, 9),
            (timeseries("Power by namespace on this node ($zone)", "Pods per namespace, and the system row "
                        "(everything outside pods); together they are the node's zone power.", "watt",
                        [(f'sum by (namespace) (rate(wattlet_pod_joules_total{{{n}, {z}, namespace!=""}}[{RI}]))', "{{namespace}}"),
                         (f'sum(rate(wattlet_workload_joules_total{{{n}, {z}, workload="system"}}[{RI}]))', "system")],
                        stack=True), 12, 9),
            (table("Busiest pods on this node ($zone)", "Top 10 pods by power over the rate interval.", "watt",
                   [(f'topk(10, sum by (namespace, pod) (rate(wattlet_pod_joules_total{{{n}, {z}, namespace!=""}}[{RI}])))',
                     "{{namespace}}/{{pod}}")]), 12, 9),
            (table("Energy source and zones", "Where the node's energy comes from (meter, model, meter+model, "
                   "none) and the model; per zone: estimated (1) or measured (0), and the usage feature "
                   "sharing its dynamic energy.", "none",
                   [(f"wattlet_node_energy_source_info{{{n}}}", "{{source}} {{model}}"),
                    (f"wattlet_node_zone_estimated{{{n}}}", "{{zone}}"),
                    (f"wattlet_node_zone_feature_info{{{n}}}", "{{zone}} {{feature}}")]), 12, 8),
            (table("Agent", "Version, meter, usage source and cgroup mode of the agent on this node.", "none",
                   [(f"wattlet_agent_info{{{n}}}", "{{version}} {{meter}} {{usage_source}} {{cgroup_mode}}")]), 12, 8),
            (timeseries("Agent CPU", "CPU cores used by the agent.", "none",
                        [(f"rate(wattlet_agent_cpu_seconds_total{{{n}}}[{RI}])", "cores")]), 8, 8),
            (timeseries("Agent memory", "The agent's resident memory.", "bytes",
                        [(f"wattlet_agent_resident_memory_bytes{{{n}}}", "RSS")]), 8, 8),
            (timeseries("Agent tick time", "Mean wall time of a tick's work.", "s",
                        [(f"rate(wattlet_agent_tick_duration_seconds_sum{{{n}}}[{RI}]) "
                          f"/ rate(wattlet_agent_tick_duration_seconds_count{{{n}}}[{RI}])", "tick")]), 8, 8),
            (timeseries("Meter errors and resets", "Zone reads that failed and energy counter resets.", "none",
                        [(f"increase(wattlet_agent_meter_errors_total{{{n}}}[{RI}])", "errors"),
                         (f"increase(wattlet_agent_meter_resets_total{{{n}}}[{RI}])", "resets")]), 12, 8),
            (timeseries("API writes", "PodEnergy/NodeEnergy/Event writes per second by result.", "none",
                        [(f"sum by (resource, result) (rate(wattlet_kube_writes_total{{{n}}}[{RI}]))",
                          "{{resource}} {{result}}")]), 12, 8),
        ])


DASHBOARDS = {"cluster": cluster, "namespace": namespace, "workload": workload, "node": node}


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for name, fn in DASHBOARDS.items():
        text = json.dumps(fn(), indent=2, ensure_ascii=False) + "\n"
        path = os.path.normpath(os.path.join(OUT, f"wattlet-{name}.json"))
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    same = f.read() == text
            except OSError:
                same = False
            if not same:
                print(f"{path}: stale, run python3 hack/dashboards.py", file=sys.stderr)
                bad = 1
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(path)
    return bad


if __name__ == "__main__":
    sys.exit(main())
