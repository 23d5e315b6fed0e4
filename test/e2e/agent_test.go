package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAgent is the agent in the real cluster, installed by its Helm chart on the
// simulated RAPL meter (these machines have no RAPL): PodEnergy for real pods, garbage
// collection, a PowerModel applied live, an EnergyPolicy's CO2e, RBAC, a real
// Prometheus scraping the agent, and faults (API server down, agent killed).
// Subtests run in order and share the installation.
func TestAgent(t *testing.T) {
	c := NeedCluster(t)
	const rel, sysns = AgentRelease, AgentNamespace
	c.InstallAgent(t, "config.tick=1s", "config.ledger.checkpoint_interval=2s",
		"config.model.idle_watts.package=10")
	agentURL := c.AgentURL

	// Namespaces a previous, interrupted run left behind would hold CPU requests.
	if out, err := c.Run(t, 20*time.Second, "get", "ns", "-o", "name"); err == nil {
		for _, n := range strings.Fields(out) {
			if strings.HasPrefix(n, "namespace/load-") {
				c.Run(t, 120*time.Second, "delete", n, "--wait=true")
			}
		}
	}
	ns := c.Namespace(t, "load")
	// An EnergyPolicy with the shortest update interval, a carbon intensity and a budget
	// every pod exceeds at once (1 J per minute), with action annotate.
	c.Apply(t, fmt.Sprintf(`apiVersion: wattlet.dev/v1alpha1
kind: EnergyPolicy
metadata: {name: e2e, namespace: %s}
spec:
  podSelector: {}
  idlePolicy: even
  updateInterval: 10s
  carbonIntensity: 400
  budgets:
  - {name: tiny, window: 1m, maxJoules: 1, action: annotate}
`, ns))
	pod := func(name, image, args string, cpu string) string {
		return onePod{Name: name, NS: ns, App: name, Image: image, Args: args,
			Resources: "{requests: {cpu: " + cpu + ", memory: 16Mi}}"}.Manifest()
	}
	c.Apply(t, pod("busy", "wattlet-e2e/stress:1", `["--cpu", "1", "--cpu-load", "60", "--timeout", "900s"]`, "200m"))
	c.Apply(t, pod("idle", "wattlet-e2e/pause:1", `[]`, "10m"))
	c.Apply(t, pod("redis", "wattlet-e2e/redis:1", `["--port", "6379", "--save", "", "--appendonly", "no"]`, "100m"))
	for _, p := range []string{"busy", "idle", "redis"} {
		c.WaitPodReady(t, ns, p)
	}

	type podEnergy struct {
		Status struct {
			NodeName     string  `json:"nodeName"`
			Model        string  `json:"model"`
			Watts        float64 `json:"watts"`
			DynamicWatts float64 `json:"dynamicWatts"`
			Joules       float64 `json:"joules"`
			CO2eGrams    float64 `json:"co2eGrams"`
			LastMeasured string  `json:"lastMeasured"`
		} `json:"status"`
	}
	getPE := func(t *testing.T, name string) (podEnergy, error) {
		var pe podEnergy
		_, err := c.GetJSON(t, &pe, "podenergy", "-n", ns, name)
		return pe, err
	}
	// poll until cond holds or the deadline passes (no fixed sleeps)
	eventually := func(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
		t.Helper()
		Eventually(t, d, 500*time.Millisecond, what, cond, nil)
	}

	t.Run("podenergy", func(t *testing.T) {
		// busy: stress-ng at 60 % of a core on the simulated 15 W/core curve -> ~9 W dynamic.
		// idle: the pause process, which never runs -> dynamic ~0 (below 0.2 W, the share of a
		// few ms of CPU per second). Thresholds leave a factor of 4 either way.
		eventually(t, 120*time.Second, "PodEnergy for busy, idle and redis", func() (bool, string) {
			busy, e1 := getPE(t, "busy")
			idle, e2 := getPE(t, "idle")
			redis, e3 := getPE(t, "redis")
			if e1 != nil || e2 != nil || e3 != nil {
				return false, fmt.Sprint(e1, e2, e3)
			}
			if busy.Status.DynamicWatts < 2 {
				return false, fmt.Sprintf("busy dynamicWatts %.3f", busy.Status.DynamicWatts)
			}
			if idle.Status.LastMeasured == "" || redis.Status.LastMeasured == "" {
				return false, "idle/redis not measured yet"
			}
			if idle.Status.DynamicWatts > 0.2 {
				return false, fmt.Sprintf("idle dynamicWatts %.3f", idle.Status.DynamicWatts)
			}
			if busy.Status.NodeName != c.Node || busy.Status.CO2eGrams <= 0 || busy.Status.Joules <= 0 {
				return false, fmt.Sprintf("busy status %+v", busy.Status)
			}
			t.Logf("busy %.2f W (dynamic %.2f), idle dynamic %.3f W, redis %.2f W, busy CO2e %.4f g",
				busy.Status.Watts, busy.Status.DynamicWatts, idle.Status.DynamicWatts,
				redis.Status.Watts, busy.Status.CO2eGrams)
			return true, ""
		})
		out := c.Must(t, 20*time.Second, "get", "podenergy", "-n", ns)
		t.Logf("kubectl get podenergy:\n%s", out)
		for _, p := range []string{"busy", "idle", "redis"} {
			if !strings.Contains(out, p) {
				t.Errorf("kubectl get podenergy does not list %s", p)
			}
		}
		// owned by the pod
		owner := c.Must(t, 20*time.Second, "get", "podenergy", "-n", ns, "busy", "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}")
		if owner != "Pod/busy" {
			t.Errorf("PodEnergy busy owner %q, want Pod/busy", owner)
		}
	})

	// The policy's status: every agent writes its own status.nodes[] entry and the
	// totals; on this one-node cluster the totals are that node's 3 pods.
	t.Run("energypolicy-status", func(t *testing.T) {
		type enpStatus struct {
			Status struct {
				MatchedPods    int     `json:"matchedPods"`
				TotalJoules    float64 `json:"totalJoules"`
				TotalCO2eGrams float64 `json:"totalCO2eGrams"`
				LastUpdateTime string  `json:"lastUpdateTime"`
				Nodes          []struct {
					Node        string  `json:"node"`
					MatchedPods int     `json:"matchedPods"`
					TotalJoules float64 `json:"totalJoules"`
				} `json:"nodes"`
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
					Reason string `json:"reason"`
				} `json:"conditions"`
			} `json:"status"`
		}
		get := func() (enpStatus, string, error) {
			var e enpStatus
			out, err := c.GetJSON(t, &e, "energypolicy", "-n", ns, "e2e")
			return e, out, err
		}
		var first float64
		eventually(t, 90*time.Second, "EnergyPolicy e2e status: 3 pods of this node", func() (bool, string) {
			e, out, err := get()
			if err != nil {
				return false, fmt.Sprint(err)
			}
			st := e.Status
			if st.MatchedPods != 3 || st.TotalJoules <= 0 || st.TotalCO2eGrams <= 0 || len(st.Nodes) != 1 {
				return false, "status " + lineWith(out, "matchedPods") + " " + fmt.Sprintf("%+v", st)
			}
			if st.Nodes[0].Node != c.Node || st.Nodes[0].MatchedPods != 3 || st.Nodes[0].TotalJoules <= 0 {
				return false, fmt.Sprintf("nodes %+v (node %s)", st.Nodes, c.Node)
			}
			if len(st.Conditions) != 1 || st.Conditions[0].Type != "Valid" || st.Conditions[0].Status != "True" {
				return false, fmt.Sprintf("conditions %+v", st.Conditions)
			}
			first = st.TotalJoules
			t.Logf("EnergyPolicy e2e: %d pods, %.1f J, %.4f g CO2e, node %s", st.MatchedPods,
				st.TotalJoules, st.TotalCO2eGrams, st.Nodes[0].Node)
			return true, ""
		})
		// updateInterval 10s: the totals grow within two intervals
		eventually(t, 60*time.Second, "EnergyPolicy e2e totalJoules grows", func() (bool, string) {
			e, _, err := get()
			if err != nil {
				return false, fmt.Sprint(err)
			}
			return e.Status.TotalJoules > first, fmt.Sprintf("totalJoules %.3f, first %.3f", e.Status.TotalJoules, first)
		})
		out := c.Must(t, 20*time.Second, "get", "enp", "-n", ns)
		t.Logf("kubectl get enp:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("kubectl get enp: want a header and one row, got:\n%s", out)
		}
		// by the header's offsets: cells hold spaces ("26.6 kJ") and may be blank
		if row := tableRows(out)[0]; row["PODS"] != "3" {
			t.Errorf("kubectl get enp: Pods column missing or not 3:\n%s", out)
		}
		// budget tiny (1 J/min, action annotate) is exceeded: busy's PodEnergy says so
		eventually(t, 60*time.Second, "PodEnergy busy annotated over budget", func() (bool, string) {
			var pe struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if _, err := c.GetJSON(t, &pe, "podenergy", "-n", ns, "busy"); err != nil {
				return false, fmt.Sprint(err)
			}
			a := pe.Metadata.Annotations["wattlet.dev/energy-budget-exceeded"]
			return a == "tiny=1J/60s", fmt.Sprintf("annotation %q", a)
		})
	})

	t.Run("garbage-collection", func(t *testing.T) {
		c.Must(t, 60*time.Second, "delete", "pod", "-n", ns, "idle", "--wait=true")
		eventually(t, 90*time.Second, "PodEnergy idle deleted with its pod", func() (bool, string) {
			_, err := c.Run(t, 20*time.Second, "get", "podenergy", "-n", ns, "idle")
			return err != nil && strings.Contains(err.Error(), "NotFound"), fmt.Sprint(err)
		})
	})

	t.Run("powermodel-live", func(t *testing.T) {
		c.Apply(t, `apiVersion: wattlet.dev/v1alpha1
kind: PowerModel
metadata: {name: e2e-ratio}
spec:
  nodeSelector: {}
  priority: 5
  zones:
  - {zone: package, source: measured, idleWatts: 10, feature: cpu_time}
`)
		t.Cleanup(func() { c.Run(t, 30*time.Second, "delete", "powermodel", "e2e-ratio") })
		eventually(t, 90*time.Second, "NodeEnergy shows PowerModel e2e-ratio", func() (bool, string) {
			m, err := c.Run(t, 20*time.Second, "get", "nodeenergy", c.Node, "-o", "jsonpath={.status.model.name}")
			return err == nil && m == "e2e-ratio", fmt.Sprintf("model %q err %v", m, err)
		})
		eventually(t, 60*time.Second, "PodEnergy busy reports the new model", func() (bool, string) {
			pe, err := getPE(t, "busy")
			return err == nil && pe.Status.Model == "e2e-ratio", fmt.Sprintf("model %q err %v", pe.Status.Model, err)
		})
	})

	t.Run("rbac-no-secrets", func(t *testing.T) {
		sa := "system:serviceaccount:" + sysns + ":" + rel
		out, _ := c.Run(t, 20*time.Second, "auth", "can-i", "get", "secrets", "-A", "--as", sa)
		if strings.TrimSpace(out) != "no" {
			t.Fatalf("agent service account can get secrets: %q", out)
		}
		out, _ = c.Run(t, 20*time.Second, "auth", "can-i", "patch", "podenergies.wattlet.dev", "-A", "--as", sa)
		if strings.TrimSpace(out) != "yes" {
			t.Fatalf("agent service account cannot patch podenergies: %q", out)
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		prom, err := exec.LookPath("prometheus")
		if err != nil {
			t.Skip("skipped: prometheus not installed")
		}
		svcIP := c.Must(t, 20*time.Second, "get", "svc", "-n", sysns, rel, "-o", "jsonpath={.spec.clusterIP}")
		target := svcIP + ":9102"
		if _, err := httpGet("http://"+target+"/healthz", 3*time.Second); err != nil {
			// no kube-proxy route from the host: scrape the endpoint behind the Service
			u, _ := url.Parse(agentURL(t))
			t.Logf("Service %s not reachable from the host (%v); scraping its endpoint %s", target, err, u.Host)
			target = u.Host
		}
		dir := t.TempDir()
		cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: wattlet\n    static_configs: [{targets: ['%s']}]\n", target)
		promURL := startPrometheus(t, prom, dir, cfg)
		// at: the evaluation time, the same for the queries of one comparison
		query := func(q string, at time.Time) (float64, error) {
			return promQuery(promURL, q, at)
		}
		// Pods + system == node exactly at the agent (integer microjoules, per zone and
		// mode). The default (lean) series are counters without a mode (dynamic + idle),
		// so the check compares the energy between the last two scrapes (idelta: no
		// extrapolation): every series of one scrape comes from the same rendering (one
		// tick), joules are printed exactly with 6 decimals, so the sums agree to 1e-3 J.
		// Pods alone must be below the node (the control plane and kubelet run as host
		// processes: "system"). A pod that appears between the two scrapes has a single
		// sample and breaks the sum for that one window: retried.
		const pods = `sum(idelta(wattlet_pod_joules_total{zone="package"}[10s]))`
		const sys = `sum(idelta(wattlet_workload_joules_total{workload="system",zone="package"}[10s]))`
		const node = `sum(idelta(wattlet_node_joules_total{zone="package"}[10s]))`
		eventually(t, 60*time.Second, "PromQL: pods + system == node energy between scrapes", func() (bool, string) {
			at := time.Now()
			p, e1 := query(pods, at)
			s, e2 := query(sys, at)
			n, e3 := query(node, at)
			if e1 != nil || e2 != nil || e3 != nil {
				return false, fmt.Sprint(e1, e2, e3)
			}
			if p <= 0 || p > n || math.Abs(p+s-n) > 1e-3 {
				return false, fmt.Sprintf("pods %.6f + system %.6f vs node %.6f", p, s, n)
			}
			t.Logf("PromQL: pods %.3f J + system %.3f J = node %.3f J (package, between two scrapes)", p, s, n)
			return true, ""
		})
	})

	metric := func(t *testing.T, base, name string) (float64, error) {
		body, err := httpGet(base+"/metrics", 5*time.Second)
		if err != nil {
			return 0, err
		}
		sum, found := 0.0, false
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
				f := strings.Fields(l)
				v, err := strconv.ParseFloat(f[len(f)-1], 64)
				if err == nil {
					sum += v
					found = true
				}
			}
		}
		if !found {
			return 0, fmt.Errorf("no %s in /metrics", name)
		}
		return sum, nil
	}

	t.Run("agent-killed-totals-continue", func(t *testing.T) {
		base := agentURL(t)
		// wait for a checkpoint after the workloads ran for a while
		eventually(t, 30*time.Second, "a checkpoint written", func() (bool, string) {
			v, err := metric(t, base, "wattlet_agent_checkpoint_writes_total")
			return err == nil && v >= 2, fmt.Sprint(v, err)
		})
		before, err := metric(t, base, "wattlet_node_joules_total")
		if err != nil {
			t.Fatal(err)
		}
		restarts := c.Must(t, 20*time.Second, "get", "pods", "-n", sysns, "-l", "app.kubernetes.io/name=wattlet",
			"-o", "jsonpath={.items[0].status.containerStatuses[?(@.name==\"wattlet\")].restartCount}")
		// SIGKILL the agent process on the host: no chance to save at exit
		if out, err := runCmd(10*time.Second, "pkill", "-9", "-f", "^wattlet run -c /etc/wattlet/config.yaml"); err != nil {
			t.Fatalf("pkill: %v %s", err, out)
		}
		eventually(t, 90*time.Second, "the DaemonSet restarts the agent", func() (bool, string) {
			r := c.Must(t, 20*time.Second, "get", "pods", "-n", sysns, "-l", "app.kubernetes.io/name=wattlet",
				"-o", "jsonpath={.items[0].status.containerStatuses[?(@.name==\"wattlet\")].restartCount}")
			_, err := httpGet(agentURL(t)+"/readyz", 2*time.Second)
			return r != restarts && err == nil, "restartCount " + r
		})
		after, err := metric(t, agentURL(t), "wattlet_node_joules_total")
		if err != nil {
			t.Fatal(err)
		}
		// Lost at most one checkpoint interval (2 s) of energy: < 100 J at these powers.
		t.Logf("node joules: %.1f before the kill, %.1f after the restart", before, after)
		if after < before-100 {
			t.Fatalf("totals did not continue: %.1f J before, %.1f J after restart", before, after)
		}
	})

	t.Run("apiserver-outage", func(t *testing.T) {
		base := agentURL(t)
		pidFile := filepath.Join(c.Root, "build", "e2e", "run", "kube-apiserver.pid")
		if _, err := os.Stat(pidFile); err != nil {
			t.Skipf("skipped: no apiserver pid file (%v)", err)
		}
		t0, err := metric(t, base, "wattlet_agent_ticks_total")
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := os.ReadFile(pidFile)
		// SIGKILL: gone at once (a SIGTERM'd apiserver lingers while it drains)
		if out, err := runCmd(10*time.Second, "kill", "-9", strings.TrimSpace(string(pid))); err != nil {
			t.Fatalf("stop apiserver: %v %s", err, out)
		}
		stopped := time.Now()
		restart := func() {
			// On a real control plane the controller-manager and scheduler exit when
			// their leader lease cannot be renewed; this cluster runs them without
			// leader election, so they are restarted the same way here (their
			// informers otherwise stall after the apiserver comes back).
			for _, comp := range []string{"kube-controller-manager", "kube-scheduler"} {
				if p, err := os.ReadFile(filepath.Join(c.Root, "build", "e2e", "run", comp+".pid")); err == nil {
					runCmd(10*time.Second, "kill", "-9", strings.TrimSpace(string(p)))
				}
			}
			// cluster-up.sh starts only what is not running
			if out, err := runCmd(180*time.Second, "bash", "-c", "cd \"$0\" && bash hack/cluster-up.sh", c.Root); err != nil {
				t.Fatalf("restart apiserver: %v %s", err, out)
			}
		}
		// measurement goes on during the outage
		for time.Since(stopped) < 30*time.Second {
			time.Sleep(time.Second)
		}
		t1, err := metric(t, base, "wattlet_agent_ticks_total")
		restart()
		if err != nil {
			t.Fatalf("agent stopped serving during the outage: %v", err)
		}
		if t1-t0 < 25 {
			t.Fatalf("agent ticked %v times during a 30 s outage", t1-t0)
		}
		// and catches up: PodEnergy measured after the outage
		eventually(t, 90*time.Second, "PodEnergy updated after the outage", func() (bool, string) {
			pe, err := getPE(t, "busy")
			if err != nil {
				return false, err.Error()
			}
			lm, err := time.Parse(time.RFC3339, pe.Status.LastMeasured)
			return err == nil && lm.After(stopped.Add(30*time.Second)), "lastMeasured " + pe.Status.LastMeasured
		})
	})
}

func runCmd(timeout time.Duration, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		return out.String(), fmt.Errorf("%s: timed out after %v", name, timeout)
	}
}

func httpGet(u string, timeout time.Duration) ([]byte, error) {
	cl := http.Client{Timeout: timeout}
	resp, err := cl.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return b, err
}

// startPrometheus runs the Prometheus binary prom on a free local port with the
// configuration cfg (written to dir/prom.yml; its TSDB and dir/prom.log in dir too) until
// the test ends, and returns its base URL (http://127.0.0.1:port).
func startPrometheus(t *testing.T, prom, dir, cfg string) string {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "prom.yml"), []byte(cfg), 0o644)
	port := freePort(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prom.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	logf, _ := os.Create(filepath.Join(dir, "prom.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// promQuery evaluates the instant query q on the Prometheus at base (http://host:port) and
// returns the value of its one sample (an error unless there is exactly one); at, unless
// zero, is the evaluation time.
func promQuery(base, q string, at time.Time) (float64, error) {
	u := base + "/api/v1/query?query=" + url.QueryEscape(q)
	if !at.IsZero() {
		u += fmt.Sprintf("&time=%.3f", float64(at.UnixMilli())/1e3)
	}
	body, err := httpGet(u, 5*time.Second)
	if err != nil {
		return 0, err
	}
	var r struct {
		Data struct {
			Result []struct {
				Value []interface{} `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %s", q, body)
	}
	return strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestKubeletGarbage: the kubelet answers garbage. A server with the kubelet's own serving
// certificate (so the agent's verification against the cluster CA passes) answers /pods with
// broken JSON; an agent pointed at it logs the error, keeps running and keeps measuring.
func TestKubeletGarbage(t *testing.T) {
	c := NeedCluster(t)
	dir := t.TempDir()
	kport, aport := freePort(t), freePort(t)
	srv := fmt.Sprintf(`
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"kind":"PodList","items":[{"metadata":{"name":' + b'\xff\x00garbage'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", %d), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
`, kport)
	os.WriteFile(filepath.Join(dir, "garbage.py"), []byte(srv), 0o644)
	py := exec.Command("python3", filepath.Join(dir, "garbage.py"),
		filepath.Join(c.PKI, "kubelet.crt"), filepath.Join(c.PKI, "kubelet.key"))
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { py.Process.Kill(); py.Wait() })

	logPath := filepath.Join(dir, "agent.log")
	logf, _ := os.Create(logPath)
	agent := exec.Command(filepath.Join(c.Root, "build", "wattlet"), "run",
		"--listen", fmt.Sprintf("127.0.0.1:%d", aport), "--checkpoint", "", "--usage-source", "cgroup",
		"--set", "kubernetes.enabled=true", "--set", "kubernetes.kubeconfig="+c.Kubeconfig,
		"--set", "kubernetes.node_name="+c.Node, "--set", "kubernetes.kubelet_address=127.0.0.1",
		"--set", fmt.Sprintf("kubernetes.kubelet_port=%d", kport), "--set", "kubernetes.pods_refresh=1s")
	agent.Stdout, agent.Stderr = logf, logf
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	t.Cleanup(func() { agent.Process.Kill(); <-exited })

	base := fmt.Sprintf("http://127.0.0.1:%d", aport)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("agent exited on garbage from the kubelet: %v\n%s", err, b)
		default:
		}
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "reading pods failed") {
			t.Logf("agent log: %s", lineWith(string(b), "reading pods failed"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error logged about the kubelet's garbage within 60 s:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t0, err := metricValue(base, "wattlet_agent_ticks_total")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		t1, err := metricValue(base, "wattlet_agent_ticks_total")
		if err == nil && t1 >= t0+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent stopped ticking after the kubelet's garbage (%v -> %v, %v)", t0, t1, err)
		}
	}
}

func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func metricValue(base, name string) (float64, error) {
	body, err := httpGet(base+"/metrics", 5*time.Second)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return strconv.ParseFloat(strings.Fields(l)[1], 64)
		}
	}
	return 0, fmt.Errorf("no %s", name)
}
