package e2e

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWriteRate measures the agent's write load on the API server (issue #5): the chart
// at its defaults (no EnergyPolicy, so every PodEnergy's interval is the default 60 s),
// 100 pods on the one node, and then the writes over at least three intervals, counted
// by the API server itself (apiserver_request_total) and by the agent
// (wattlet_kube_requests_total). docs/kube.md "Write load" gives the expectation:
// P * f / 60 + 1/30 requests/s with f <= 1, so PodEnergy writes stay at or under one per
// pod per interval. An agent that wrote every tick (1 s) would write 100/s.
//
// The pods wake once a second (busybox `sleep 1` in a loop), so they are active in most
// ticks, get their share of idle energy (idle_policy even shares it among the workloads
// that ran) and their joules grow: the ceiling case, f = 1. E2E_WRITERATE_PODS=idle runs
// pause containers instead, which never run: their energy stays 0, so after the write
// that follows their start they are written only every 10 intervals (the floor) and the
// test checks the ceiling alone.
func TestWriteRate(t *testing.T) {
	c := NeedCluster(t)
	const (
		pods     = 100
		interval = 60.0 // s, the default updateInterval
		window   = 180 * time.Second
		sample   = 60 * time.Second
	)
	tStart := time.Now()
	idlePods := os.Getenv("E2E_WRITERATE_PODS") == "idle"
	container := `image: wattlet-e2e/tools:1
        args: ["-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]`
	if idlePods {
		container = "image: wattlet-e2e/pause:1"
	}

	c.InstallAgent(t) // writing at its defaults
	// A namespace an interrupted run left would hold 100 pods.
	if out, err := c.Run(t, 20*time.Second, "get", "ns", "-o", "name"); err == nil {
		for _, n := range strings.Fields(out) {
			if strings.HasPrefix(n, "namespace/wrate-") {
				c.Run(t, 180*time.Second, "delete", n, "--wait=true")
			}
		}
	}
	ns := c.Namespace(t, "wrate")
	t.Cleanup(func() {
		// The pods go first and are waited for (the namespace's own cleanup does not wait).
		t0 := time.Now()
		if _, err := c.Run(t, 60*time.Second, "delete", "deployment", "-n", ns, "wrate",
			"--cascade=foreground", "--wait=false"); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if _, err := c.Run(t, 200*time.Second, "wait", "--for=delete", "pods", "-n", ns, "-l", "app=wrate",
			"--timeout=190s"); err != nil {
			t.Logf("cleanup: pods not gone: %v", err)
		}
		t.Logf("cleanup: %d pods deleted in %.0f s", pods, time.Since(t0).Seconds())
	})
	tInstalled := time.Now()

	c.Apply(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: wrate, namespace: %s}
spec:
  replicas: %d
  selector: {matchLabels: {app: wrate}}
  template:
    metadata: {labels: {app: wrate}}
    spec:
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      enableServiceLinks: false
      containers:
      - name: main
        %s
        imagePullPolicy: Never
        resources: {requests: {cpu: 1m, memory: 4Mi}}
`, ns, pods, container))

	waitFor := func(d time.Duration, what string, cond func() (bool, string)) {
		t.Helper()
		Eventually(t, d, time.Second, what, cond, func() string {
			desc, _ := c.Run(t, 20*time.Second, "get", "pods", "-n", ns, "--no-headers")
			return "pods:\n" + desc
		})
	}
	waitFor(240*time.Second, fmt.Sprintf("%d pods Ready", pods), func() (bool, string) {
		r, err := c.Run(t, 20*time.Second, "get", "deployment", "-n", ns, "wrate", "-o", "jsonpath={.status.readyReplicas}")
		return err == nil && r == strconv.Itoa(pods), fmt.Sprintf("readyReplicas %q %v", r, err)
	})
	tReady := time.Now()
	// Every PodEnergy exists and has its first status (create and status are written
	// back to back, so the start-up writes are over).
	waitFor(180*time.Second, fmt.Sprintf("%d PodEnergy objects with status", pods), func() (bool, string) {
		out, err := c.Run(t, 30*time.Second, "get", "podenergies", "-n", ns, "-o",
			`jsonpath={range .items[*]}{.status.lastMeasured}{"\n"}{end}`)
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) != "" {
				n++
			}
		}
		return n == pods, fmt.Sprintf("%d with status", n)
	})
	tObjects := time.Now()
	agentRestarts := func() string {
		return c.Must(t, 20*time.Second, "get", "pods", "-n", AgentNamespace, "-l", "app.kubernetes.io/name=wattlet",
			"-o", `jsonpath={.items[0].status.containerStatuses[?(@.name=="wattlet")].restartCount}`)
	}
	restarts0 := agentRestarts()
	agent := c.AgentURL(t)

	// Snapshots: the API server's request counters and the agent's, back to back.
	type snap struct {
		at    time.Time
		api   map[string]float64 // resource|verb|code -> requests
		agent map[string]float64 // resource -> requests (wattlet_kube_requests_total)
		extra map[string]float64 // other agent counters
	}
	take := func() snap {
		s := snap{at: time.Now(), api: map[string]float64{}, agent: map[string]float64{}, extra: map[string]float64{}}
		out := c.Must(t, 60*time.Second, "get", "--raw", "/metrics")
		for _, smp := range promSamples(out, "apiserver_request_total") {
			res := smp.labels["resource"]
			if res != "podenergies" && res != "nodeenergies" && res != "energypolicies" && res != "events" {
				continue
			}
			if res != "events" {
				if smp.labels["group"] != "wattlet.dev" {
					continue
				}
			}
			key := res + "|" + smp.labels["verb"] + "|" + smp.labels["code"]
			s.api[key] += smp.value
		}
		body, err := httpGet(agent+"/metrics", 10*time.Second)
		if err != nil {
			t.Fatalf("agent /metrics: %v", err)
		}
		found := false
		for _, smp := range promSamples(string(body), "wattlet_kube_requests_total") {
			s.agent[smp.labels["resource"]] += smp.value
			found = true
		}
		if !found {
			t.Fatalf("the agent exports no wattlet_kube_requests_total")
		}
		for _, name := range []string{"wattlet_kube_writes_skipped_total", "wattlet_kube_writes_rate_limited_total",
			"wattlet_kube_writer_backoffs_total"} {
			for _, smp := range promSamples(string(body), name) {
				s.extra[name] += smp.value
			}
		}
		for _, smp := range promSamples(string(body), "wattlet_kube_writes_total") {
			if smp.labels["result"] == "failed" {
				s.extra["failed|"+smp.labels["resource"]] += smp.value
			}
		}
		return s
	}
	writeVerbs := map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true,
		"DELETECOLLECTION": true, "CREATE": true, "UPDATE": true}
	apiWrites := func(a, b snap, resource string) float64 {
		n := 0.0
		for k, v := range b.api {
			f := strings.Split(k, "|")
			if (resource == "" || f[0] == resource) && writeVerbs[f[1]] {
				n += v - a.api[k]
			}
		}
		return n
	}

	snaps := []snap{take()}
	for time.Since(snaps[0].at) < window {
		next := snaps[len(snaps)-1].at.Add(sample)
		if end := snaps[0].at.Add(window); next.After(end) {
			next = end
		}
		time.Sleep(time.Until(next)) // the measurement window itself, not a wait for a state
		snaps = append(snaps, take())
	}
	s0, s1 := snaps[0], snaps[len(snaps)-1]
	secs := s1.at.Sub(s0.at).Seconds()

	// The report (it lands in the e2e JSON report).
	var b strings.Builder
	kind := "active (sleep 1 loop)"
	if idlePods {
		kind = "idle (pause)"
	}
	fmt.Fprintf(&b, "write rate, %d %s pods on one node, chart defaults (updateInterval 60 s, NodeEnergy 30 s), window %.1f s\n", pods, kind, secs)
	fmt.Fprintf(&b, "timings: install %.1f s, %d pods Ready in %.1f s, all PodEnergy with status %.1f s after Ready\n",
		tInstalled.Sub(tStart).Seconds(), pods, tReady.Sub(tInstalled).Seconds(), tObjects.Sub(tReady).Seconds())
	fmt.Fprintf(&b, "API server, apiserver_request_total deltas (resource verb code: requests, per s):\n")
	keys := []string{}
	for k := range s1.api {
		if s1.api[k]-s0.api[k] > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := s1.api[k] - s0.api[k]
		fmt.Fprintf(&b, "  %-40s %6.0f  %7.3f/s\n", strings.ReplaceAll(k, "|", " "), d, d/secs)
	}
	pe := apiWrites(s0, s1, "podenergies")
	ne := apiWrites(s0, s1, "nodeenergies")
	ev := apiWrites(s0, s1, "events")
	peRate, neRate := pe/secs, ne/secs
	expectPE := pods / interval // f = 1: pods this young always grow > 1 % in joules per interval
	expectNE := 1 / 30.0
	fmt.Fprintf(&b, "writes/s (API server):  podenergies %.3f  nodeenergies %.3f  wattlet total %.3f  events (all writers) %.3f\n",
		peRate, neRate, peRate+neRate, ev/secs)
	fmt.Fprintf(&b, "writes/s (agent):       podenergies %.3f  nodeenergies %.3f  events %.3f\n",
		(s1.agent["podenergies"]-s0.agent["podenergies"])/secs,
		(s1.agent["nodeenergies"]-s0.agent["nodeenergies"])/secs,
		(s1.agent["events"]-s0.agent["events"])/secs)
	f := peRate / expectPE
	fmt.Fprintf(&b, "PodEnergy writes per pod per minute: %.3f (f = %.2f)\n", pe/pods/(secs/60), f)
	fmt.Fprintf(&b, "docs/kube.md: P*f/60 + 1/30 = %.3f/s at f = 1 (ceiling), %.3f/s at f = 0.1 (floor); measured %.3f/s\n",
		expectPE+expectNE, expectPE*0.1+expectNE, peRate+neRate)
	for i := 1; i < len(snaps); i++ {
		d := snaps[i].at.Sub(snaps[i-1].at).Seconds()
		fmt.Fprintf(&b, "  minute %d (%.0f s): podenergies %.3f/s, nodeenergies %.3f/s\n", i, d,
			apiWrites(snaps[i-1], snaps[i], "podenergies")/d, apiWrites(snaps[i-1], snaps[i], "nodeenergies")/d)
	}
	fmt.Fprintf(&b, "agent: skipped (unchanged) %+.0f, rate-limited waits %+.0f, backoffs %+.0f, failed %+.0f\n",
		s1.extra["wattlet_kube_writes_skipped_total"]-s0.extra["wattlet_kube_writes_skipped_total"],
		s1.extra["wattlet_kube_writes_rate_limited_total"]-s0.extra["wattlet_kube_writes_rate_limited_total"],
		s1.extra["wattlet_kube_writer_backoffs_total"]-s0.extra["wattlet_kube_writer_backoffs_total"],
		s1.extra["failed|podenergies"]+s1.extra["failed|nodeenergies"]-s0.extra["failed|podenergies"]-s0.extra["failed|nodeenergies"])
	if out, err := c.Run(t, 20*time.Second, "get", "podenergies", "-n", ns, "-o",
		"jsonpath={.items[0].metadata.name}: watts {.items[0].status.watts}, joules {.items[0].status.joules}, lastMeasured {.items[0].status.lastMeasured}"); err == nil {
		fmt.Fprintf(&b, "a PodEnergy now: %s\n", out)
	}
	t.Log(b.String())

	if r := agentRestarts(); r != restarts0 {
		t.Fatalf("the agent restarted during the window (restartCount %s -> %s): a restart rewrites every object", restarts0, r)
	}
	// At most one write per pod per interval, plus slack for coalescing and the window's
	// edges; a writer that wrote every tick would be at 100/s.
	if limit := expectPE*1.25 + 0.05; peRate > limit {
		t.Errorf("PodEnergy writes %.3f/s above %.3f/s (one per pod per %v s + 25 %%)", peRate, limit, interval)
	}
	if pe <= 0 {
		t.Errorf("no PodEnergy writes in %.0f s", secs)
	}
	if limit := expectNE*1.25 + 1/secs; neRate > limit {
		t.Errorf("NodeEnergy writes %.3f/s above %.3f/s (one per 30 s + 25 %%)", neRate, limit)
	}
	// Young pods' joules grow by far more than 1 % an interval, so every pod is written
	// every interval: below half of that, the writer is skipping writes it owes.
	if !idlePods && f < 0.5 {
		t.Errorf("PodEnergy writes %.3f/s, f = %.2f: under half of one write per pod per interval", peRate, f)
	}
	// The agent's own count agrees with the API server's (the two snapshots are taken a
	// moment apart, so a write or two may fall between them).
	agentPE := s1.agent["podenergies"] - s0.agent["podenergies"]
	if math.Abs(agentPE-pe) > 3+0.02*pe {
		t.Errorf("agent counted %.0f PodEnergy requests, the API server %.0f", agentPE, pe)
	}
	t.Logf("test time so far %.0f s", time.Since(tStart).Seconds())
}

type promSample struct {
	labels map[string]string
	value  float64
}

// promSamples parses the samples of one metric (no suffixes) from Prometheus text.
func promSamples(text, name string) []promSample {
	var out []promSample
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name) {
			continue
		}
		rest := l[len(name):]
		labels := map[string]string{}
		switch {
		case strings.HasPrefix(rest, "{"):
			i := 1
			ok := true
			for i < len(rest) && rest[i] != '}' {
				eq := strings.IndexByte(rest[i:], '=')
				if eq < 0 || i+eq+1 >= len(rest) || rest[i+eq+1] != '"' {
					ok = false
					break
				}
				key := rest[i : i+eq]
				j := i + eq + 2
				var v strings.Builder
				for j < len(rest) && rest[j] != '"' {
					if rest[j] == '\\' && j+1 < len(rest) {
						j++
						if rest[j] == 'n' {
							v.WriteByte('\n')
						} else {
							v.WriteByte(rest[j])
						}
					} else {
						v.WriteByte(rest[j])
					}
					j++
				}
				labels[key] = v.String()
				i = j + 1
				if i < len(rest) && rest[i] == ',' {
					i++
				}
			}
			if !ok || i >= len(rest) {
				continue
			}
			rest = rest[i+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric with this prefix
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out = append(out, promSample{labels, v})
	}
	return out
}

// TestPromSamples: the parser the write-rate test reads both /metrics with (no cluster).
func TestPromSamples(t *testing.T) {
	text := `# HELP apiserver_request_total x
apiserver_request_total{code="201",group="wattlet.dev",resource="podenergies",subresource="status",verb="APPLY"} 12
apiserver_request_total{code="200",group="",resource="events",verb="POST",x="a\"b,c}"} 3.5e+00
apiserver_request_total_other{code="1"} 9
apiserver_request_total 7
wattlet_kube_requests_total{resource="nodeenergies"} 4
`
	s := promSamples(text, "apiserver_request_total")
	if len(s) != 3 {
		t.Fatalf("%d samples, want 3: %+v", len(s), s)
	}
	if s[0].labels["verb"] != "APPLY" || s[0].labels["subresource"] != "status" || s[0].value != 12 {
		t.Errorf("sample 0: %+v", s[0])
	}
	if s[1].labels["x"] != `a"b,c}` || s[1].labels["verb"] != "POST" || s[1].value != 3.5 {
		t.Errorf("sample 1: %+v", s[1])
	}
	if len(s[2].labels) != 0 || s[2].value != 7 {
		t.Errorf("sample 2: %+v", s[2])
	}
}
