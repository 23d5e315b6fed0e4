package e2e

// TestThrottle: the EnergyPolicy budget action throttle (issue 17, docs/throttle.md) on
// the real cluster, with the chart's throttle.enabled=true.
//
// The chart's RBAC grows only with the value (offline). Then a stress-ng pod (2 CPUs,
// its own limit 2) under a policy whose budget it exceeds:
//   - where the API server cannot resize pods in place (no pods/resize subresource and
//     the pod spec's resources immutable: Kubernetes < 1.33 without the
//     InPlacePodVerticalScaling gate; the server's answer to a dry-run decides), the agent
//     must say so (a ThrottleFailed Event, PodEnergy condition Throttled False /
//     ResizeUnsupported, its log) and leave the pod exactly as it was (no record, no
//     label, its limits); the cycle below then runs with throttle.method cgroup (the pod
//     cgroup's CPU quota, read back from the host), and the resize path is left to a
//     cluster that has it (said in the log);
//   - the cycle: throttled within two windows of 60 s (the shortest window an
//     EnergyPolicy allows) after the budget (half the pod's unthrottled power) is set; its
//     power averaged over a window then within 10 % of the budget's rate; restored within
//     two windows after the budget is raised ten-fold; throttled again, the agent pod
//     deleted: the next agent restores it at its start (Event Restored "at agent start");
//     throttled again by that agent, the policy deleted: restored; a pod the policy does
//     not select never touched.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestThrottleChart (offline): the chart grants pod writes and sets WATTLET_THROTTLE only
// with throttle.enabled, and refuses a non-boolean value.
func TestThrottleChart(t *testing.T) {
	{
		helm := needHelm(t)
		off := string(helmTemplate(t, helm))
		on := string(helmTemplate(t, helm, "--set", "throttle.enabled=true"))
		checkDocs(t, []docCheck{
			{off, "resources: [pods/resize]", false},
			{off, "verbs: [get, list, patch]", false},
			{off, "WATTLET_THROTTLE", false},
			{on, "resources: [pods/resize]", true},
			{on, "resources: [pods]\n    verbs: [get, list, patch]", true},
			{on, "name: WATTLET_THROTTLE\n              value: \"true\"", true},
		})
		if out, err := run(t, nil, helm, "template", "wattlet", "helm/wattlet", "--kube-version", "1.31.0",
			"--set", "throttle.enabled=yes"); err == nil || !strings.Contains(out, "throttle.enabled") {
			t.Errorf("throttle.enabled=yes accepted or the error does not name the value: %v %s", err, out)
		}
		off2 := string(helmTemplate(t, helm, "--set", "throttle.enabled=true"))
		cg := string(helmTemplate(t, helm, "--set", "throttle.enabled=true", "--set", "throttle.cgroupWrite=true"))
		ro := "mountPath: /host/cgroup\n              # writable only for throttle.method cgroup (docs/throttle.md)\n              readOnly: true"
		if !strings.Contains(off, ro) || !strings.Contains(off2, ro) || strings.Contains(cg, ro) {
			t.Errorf("the cgroup tree is writable without throttle.enabled + throttle.cgroupWrite, or read-only with them")
		}
	}
}

func TestThrottle(t *testing.T) {
	c := NeedCluster(t)
	c.InstallAgent(t, "config.tick=1s", "config.model.idle_watts.package=10", "throttle.enabled=true",
		"throttle.cgroupWrite=true")
	// Helm installs CRDs only when absent: the cluster may hold older ones (action
	// throttle, status.throttledPods, PodEnergy conditions are new).
	c.Must(t, 60*time.Second, "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(c.Root, "crds"))
	c.CheckAgentCanI(t, []canI{
		{[]string{"patch", "pods", "--subresource=resize", "-A"}, "yes"},
		{[]string{"patch", "pods", "-A"}, "yes"},
		{[]string{"list", "pods", "-A"}, "yes"},
		{[]string{"update", "pods", "-A"}, "no"},
		{[]string{"delete", "pods", "-A"}, "no"},
		{[]string{"create", "pods", "-A"}, "no"},
	})

	ns := c.Namespace(t, "throttle")
	method := "resize"
	policy := func(maxJoules float64, action string) {
		opts := ""
		if action == "throttle" {
			opts = ", throttle: {method: " + method + "}"
		}
		c.Apply(t, fmt.Sprintf(`apiVersion: wattlet.dev/v1alpha1
kind: EnergyPolicy
metadata: {name: cap, namespace: %s}
spec:
  podSelector: {matchLabels: {app: stress}}
  updateInterval: 10s
  budgets:
  - {name: cap, window: 1m, maxJoules: %.3f, action: %s%s}
`, ns, maxJoules, action, opts))
	}
	// The pod not selected (another label) must never be touched.
	for _, p := range []struct{ name, app string }{{"stress", "stress"}, {"bystander", "other"}} {
		c.Apply(t, onePod{Name: p.name, NS: ns, App: p.app, Args: `["--cpu", "2", "--timeout", "1200s"]`,
			Resources: `{requests: {cpu: 100m, memory: 16Mi}, limits: {cpu: "2", memory: 64Mi}}`}.Manifest())
	}
	for _, p := range []string{"stress", "bystander"} {
		c.WaitPodReady(t, ns, p)
	}

	type podView struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Containers []struct {
				Resources struct {
					Limits   map[string]string `json:"limits"`
					Requests map[string]string `json:"requests"`
				} `json:"resources"`
			} `json:"containers"`
		} `json:"spec"`
	}
	uids := map[string]string{}
	for _, p := range []string{"stress", "bystander"} {
		uids[p] = strings.TrimSpace(c.Must(t, 20*time.Second, "get", "pod", "-n", ns, p, "-o", "jsonpath={.metadata.uid}"))
	}
	// The pod cgroup's CPU quota as the host has it (cgroup v1 cgroupfs or v2 layouts);
	// -2 when not found.
	quota := func(name string) int64 {
		uid := uids[name]
		u := strings.ReplaceAll(uid, "-", "_")
		for _, g := range []string{
			"/sys/fs/cgroup/cpu*/kubepods*/pod" + uid + "/cpu.cfs_quota_us",
			"/sys/fs/cgroup/cpu*/kubepods*/*/pod" + uid + "/cpu.cfs_quota_us",
			"/sys/fs/cgroup/cpu*/kubepods.slice/*/*pod" + u + ".slice/cpu.cfs_quota_us",
			"/sys/fs/cgroup/kubepods*/pod" + uid + "/cpu.max",
			"/sys/fs/cgroup/kubepods*/*/pod" + uid + "/cpu.max",
			"/sys/fs/cgroup/kubepods.slice/*/*pod" + u + ".slice/cpu.max",
		} {
			m, _ := filepath.Glob(g)
			if len(m) >= 1 { // cpu and cpu,cpuacct may both name the v1 hierarchy
				b, err := os.ReadFile(m[0])
				if err != nil {
					return -2
				}
				f := strings.Fields(string(b))
				if len(f) == 0 || f[0] == "max" || f[0] == "-1" {
					return -1
				}
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
		return -2
	}
	quota0 := map[string]int64{"stress": quota("stress"), "bystander": quota("bystander")}
	t.Logf("pod cgroup CPU quotas before: %v", quota0)
	getPod := func(name string) (podView, error) {
		var p podView
		_, err := c.GetJSON(t, &p, "pod", "-n", ns, name)
		return p, err
	}
	throttled := func(name string, p podView) bool {
		_, rec := p.Metadata.Annotations["wattlet.dev/throttle-original"]
		lower := p.Spec.Containers[0].Resources.Limits["cpu"] != "2"
		if method == "cgroup" {
			q := quota(name)
			lower = q >= 0 && (quota0[name] < 0 || q < quota0[name])
		}
		return rec && p.Metadata.Labels["wattlet.dev/throttled"] == "true" && lower
	}
	pristine := func(name string, p podView) bool {
		_, rec := p.Metadata.Annotations["wattlet.dev/throttle-original"]
		_, lab := p.Metadata.Labels["wattlet.dev/throttled"]
		r := p.Spec.Containers[0].Resources
		return !rec && !lab && r.Limits["cpu"] == "2" && r.Requests["cpu"] == "100m" &&
			r.Limits["memory"] == "64Mi" && quota(name) == quota0[name]
	}
	type peView struct {
		Status struct {
			Watts        float64 `json:"watts"`
			LastMeasured string  `json:"lastMeasured"`
			Conditions   []struct {
				Type, Status, Reason, Message string
			} `json:"conditions"`
		} `json:"status"`
	}
	getPE := func(name string) (peView, error) {
		var pe peView
		_, err := c.GetJSON(t, &pe, "podenergy", "-n", ns, name)
		return pe, err
	}
	cond := func(pe peView) (string, string, string) {
		for _, k := range pe.Status.Conditions {
			if k.Type == "Throttled" {
				return k.Status, k.Reason, k.Message
			}
		}
		return "", "", ""
	}
	events := func(name, reason string) []string {
		out, err := c.Run(t, 20*time.Second, "get", "events", "-n", ns, "--field-selector",
			"involvedObject.name="+name+",reason="+reason, "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
		if err != nil {
			return nil
		}
		var msgs []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" {
				msgs = append(msgs, l)
			}
		}
		return msgs
	}
	// eventSays is an Eventually condition: an Event of pod name with that reason says sub.
	eventSays := func(name, reason, sub string) func() (bool, string) {
		return func() (bool, string) {
			for _, m := range events(name, reason) {
				if strings.Contains(m, sub) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%q", events(name, reason))
		}
	}
	agentLog := func() string {
		out, _ := c.Run(t, 20*time.Second, "logs", "-n", AgentNamespace, "ds/"+AgentRelease, "-c", "wattlet", "--tail=400")
		return out
	}
	diag := func() string {
		p, _ := c.Run(t, 20*time.Second, "get", "pod", "-n", ns, "stress", "-o", "yaml")
		ev, _ := c.Run(t, 20*time.Second, "get", "events", "-n", ns)
		return "pod:\n" + p + "\nevents:\n" + ev + "\nagent log:\n" + lastLines(agentLog(), 40)
	}

	// Unthrottled power of stress: three PodEnergy windows of 10 s (an event-only budget
	// selects it, so its update interval is the policy's).
	policy(1e12, "event")
	var p0 float64
	{
		var seen []float64
		last := ""
		Eventually(t, 150*time.Second, time.Second, "three PodEnergy windows of stress", func() (bool, string) {
			pe, err := getPE("stress")
			if err != nil {
				return false, err.Error()
			}
			if pe.Status.LastMeasured != last && pe.Status.Watts > 0 {
				last = pe.Status.LastMeasured
				seen = append(seen, pe.Status.Watts)
			}
			return len(seen) >= 4, fmt.Sprintf("watts so far %v", seen)
		}, diag)
		for _, w := range seen[1:] { // the first may average over its start
			p0 += w / float64(len(seen)-1)
		}
	}
	rate := p0 / 2
	t.Logf("stress unthrottled: %.2f W; budget rate %.2f W (%.1f J per 60 s)", p0, rate, rate*60)
	if p0 < 2 {
		t.Fatalf("stress draws %.2f W: too little for a budget to act on", p0)
	}

	// Can the API server resize pods in place? Its discovery and a dry-run say.
	disc := c.Must(t, 20*time.Second, "get", "--raw", "/api/v1")
	hasResize := strings.Contains(disc, `"pods/resize"`)
	dry, dryErr := c.Run(t, 20*time.Second, "patch", "pod", "stress", "-n", ns, "--dry-run=server",
		"-p", `{"spec":{"containers":[{"name":"main","resources":{"limits":{"cpu":"1900m"}}}]}}`)
	specMutable := dryErr == nil
	version := strings.TrimSpace(c.Must(t, 20*time.Second, "version", "-o", "json"))
	var ver struct {
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	json.Unmarshal([]byte(version), &ver)
	t.Logf("Kubernetes %s: pods/resize %v, pod spec resources mutable %v (%v %s)", ver.ServerVersion.GitVersion,
		hasResize, specMutable, dryErr, strings.TrimSpace(dry))

	t0 := time.Now()
	policy(rate*60, "throttle")

	if !hasResize && !specMutable {
		// The agent must find out, say so and leave the pod as it was.
		Eventually(t, 150*time.Second, time.Second, "Event ThrottleFailed saying the cluster cannot resize",
			eventSays("stress", "ThrottleFailed", "cannot resize pods in place"), diag)
		Eventually(t, 60*time.Second, time.Second, "PodEnergy condition Throttled False / ResizeUnsupported", func() (bool, string) {
			pe, err := getPE("stress")
			if err != nil {
				return false, err.Error()
			}
			s, r, m := cond(pe)
			return s == "False" && r == "ResizeUnsupported" && strings.Contains(m, "cannot resize"), s + "/" + r + ": " + m
		}, diag)
		for _, name := range []string{"stress", "bystander"} {
			p, err := getPod(name)
			if err != nil || !pristine(name, p) {
				t.Errorf("pod %s changed although the cluster cannot resize: %v %+v", name, err, p)
			}
		}
		if l := agentLog(); !strings.Contains(l, "this cluster cannot resize pods in place") {
			t.Errorf("agent log does not say the cluster cannot resize:\n%s", lastLines(l, 40))
		}
		if len(events("bystander", "ThrottleFailed")) > 0 {
			t.Errorf("a pod the policy does not select was acted on")
		}
		t.Logf("NOTE: Kubernetes %s cannot resize pods in place (no pods/resize subresource; the dry-run "+
			"of a resources change answered: %v). Checked: the agent says so and leaves the pod untouched. "+
			"The cycle below uses throttle.method cgroup; the resize path needs >= 1.33 or the "+
			"InPlacePodVerticalScaling gate.", ver.ServerVersion.GitVersion, dryErr)
		if quota0["stress"] == -2 {
			t.Skipf("SKIP (rest): the stress pod's cgroup is not found on this host (layouts tried in quota())")
		}
		method = "cgroup"
		t0 = time.Now()
		policy(rate*60, "throttle")
	}

	// 1. throttled within two windows
	var tThr time.Time
	Eventually(t, 125*time.Second, time.Second, "stress throttled (record, label, lower limit)", func() (bool, string) {
		p, err := getPod("stress")
		if err != nil {
			return false, err.Error()
		}
		if throttled("stress", p) {
			tThr = time.Now()
			return true, ""
		}
		return false, fmt.Sprintf("%+v q=%d", p, quota("stress"))
	}, diag)
	p1, _ := getPod("stress")
	t.Logf("throttled (method %s) %.0f s after the budget was set; limit %s, cgroup quota %d (was %d)", method,
		tThr.Sub(t0).Seconds(), p1.Spec.Containers[0].Resources.Limits["cpu"], quota("stress"), quota0["stress"])
	if method == "resize" {
		path := map[bool]string{true: "pods/resize subresource", false: "resizing through the pod spec"}[hasResize]
		if l := agentLog(); !strings.Contains(l, path) {
			t.Errorf("agent log does not say which API path (%s) it uses:\n%s", path, lastLines(l, 40))
		}
	}
	Eventually(t, 60*time.Second, time.Second, "Event Throttled and PodEnergy condition Throttled True", func() (bool, string) {
		pe, err := getPE("stress")
		if err != nil {
			return false, err.Error()
		}
		s, r, m := cond(pe)
		ev := events("stress", "Throttled")
		return s == "True" && r == "OverBudget" && strings.Contains(m, "CPU limit") && len(ev) > 0,
			fmt.Sprintf("condition %s/%s %q, events %q", s, r, m, ev)
	}, diag)
	Eventually(t, 60*time.Second, time.Second, "EnergyPolicy status.throttledPods 1", func() (bool, string) {
		out, err := c.Run(t, 20*time.Second, "get", "energypolicy", "-n", ns, "cap", "-o", "jsonpath={.status.throttledPods}")
		return err == nil && strings.TrimSpace(out) == "1", out
	}, diag)

	// 2. power within 10 % of the rate, averaged over a window, once settled
	if la := loadAvg(); la > 6 {
		t.Logf("host load %.1f: the power check may be disturbed", la)
	}
	{
		var got []float64
		last := ""
		settleUntil := time.Now().Add(40 * time.Second) // a few controller periods
		Eventually(t, 200*time.Second, time.Second, "six PodEnergy windows after settling", func() (bool, string) {
			pe, err := getPE("stress")
			if err != nil {
				return false, err.Error()
			}
			if time.Now().After(settleUntil) && pe.Status.LastMeasured != last {
				if last != "" {
					got = append(got, pe.Status.Watts)
				}
				last = pe.Status.LastMeasured
			}
			return len(got) >= 6, fmt.Sprintf("%v", got)
		}, diag)
		mean := 0.0
		for _, w := range got {
			mean += w / float64(len(got))
		}
		t.Logf("throttled power over 60 s: mean %.2f W (windows %v), rate %.2f W: %+.1f %%", mean, got, rate,
			100*(mean-rate)/rate)
		if math.Abs(mean-rate) > 0.10*rate {
			if la := loadAvg(); la > 4 {
				t.Logf("NOT JUDGED: host load %.1f on a shared machine; the pod's power follows the CPU it gets", la)
			} else {
				t.Errorf("throttled power %.2f W is not within 10 %% of the budget rate %.2f W", mean, rate)
			}
		}
	}

	// 3. restored within two windows after the budget is raised
	t1 := time.Now()
	policy(p0*60*10, "throttle")
	Eventually(t, 125*time.Second, time.Second, "stress restored after the budget was raised", func() (bool, string) {
		p, err := getPod("stress")
		if err != nil {
			return false, err.Error()
		}
		return pristine("stress", p) && len(events("stress", "Restored")) > 0, fmt.Sprintf("%+v q=%d", p, quota("stress"))
	}, diag)
	t.Logf("restored %.0f s after the budget was raised", time.Since(t1).Seconds())

	// 4. the agent deleted while the pod is throttled: the next agent restores it at start
	policy(rate*60, "throttle")
	Eventually(t, 125*time.Second, time.Second, "stress throttled again", func() (bool, string) {
		p, err := getPod("stress")
		return err == nil && throttled("stress", p), fmt.Sprintf("%v %+v q=%d", err, p, quota("stress"))
	}, diag)
	old := strings.TrimSpace(c.Must(t, 20*time.Second, "get", "pods", "-n", AgentNamespace, "-l",
		"app.kubernetes.io/name=wattlet", "-o", "jsonpath={.items[0].metadata.name}"))
	c.Must(t, 60*time.Second, "delete", "pod", "-n", AgentNamespace, old, "--grace-period=0", "--force")
	t2 := time.Now()
	Eventually(t, 150*time.Second, time.Second, "the next agent restores stress at its start",
		eventSays("stress", "Restored", "at agent start"), diag)
	t.Logf("agent pod deleted while stress was throttled: restored by the next agent %.0f s later",
		time.Since(t2).Seconds())

	// 5. throttled again by the new agent; the policy deleted: restored
	Eventually(t, 125*time.Second, time.Second, "stress throttled by the new agent", func() (bool, string) {
		p, err := getPod("stress")
		return err == nil && throttled("stress", p), fmt.Sprintf("%v %+v q=%d", err, p, quota("stress"))
	}, diag)
	c.Must(t, 30*time.Second, "delete", "energypolicy", "-n", ns, "cap")
	t3 := time.Now()
	Eventually(t, 30*time.Second, time.Second, "stress restored after the policy was deleted", func() (bool, string) {
		p, err := getPod("stress")
		return err == nil && pristine("stress", p), fmt.Sprintf("%v %+v q=%d", err, p, quota("stress"))
	}, diag)
	t.Logf("policy deleted: stress restored %.0f s later", time.Since(t3).Seconds())
	if p, err := getPod("bystander"); err != nil || !pristine("bystander", p) {
		t.Errorf("bystander (not selected) changed: %v %+v", err, p)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// loadAvg is the host's 1-minute load average (the cluster's single node is this host).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
