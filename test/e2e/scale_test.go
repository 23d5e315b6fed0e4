package e2e

// Many nodes against the real API server (issue 11, docs/scale.md). The load comes from
// sim/kubesim.c: K simulated nodes in one process, each one the agent's own kube_writer
// (its pacing, coalescing, token bucket and, when set, the cluster write budget) offered
// P pods per tick as the agent offers them. The pods and nodes are real API objects
// (never run). This file sets them up (through kubesim), runs the writers, and measures
// what the API server saw: writes by resource (apiserver_request_total), request latency
// (apiserver_request_duration_seconds), apiserver and etcd CPU and RSS (/proc of their
// pids in build/e2e/run), etcd's database size, and the start-up burst.
//
// TestScaleSmoke runs in every `make e2e` / `make test` (3 nodes x 10 pods, ~1.5 min).
// TestScale is `make scale` (E2E_SCALE=1): K = 10, 25, 50 (E2E_SCALE_NODES) x P = 100
// (E2E_SCALE_PODS), budget off and on, a table with ratios to the budget.

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	scaleBudget  = 50.0 // default cluster budget, writes/s (issue 11)
	scaleCeiling = 2.0  // default per-node ceiling, writes/s
	etcdMetrics  = "http://127.0.0.1:23790/metrics"
)

type scaleRun struct {
	K, P            int
	Budget, Ceiling float64 // 0: off (today's behaviour)
	Steady          time.Duration
	Settle          time.Duration // after the start-up writes, before the steady window
	StartupMax      time.Duration // bound on the wait for the start-up writes
	BurstWindow     time.Duration // the rollout's peak is looked for this long (5 s samples)
}

// One snapshot of what the cluster reports.
type scaleSnap struct {
	at        time.Time
	writes    map[string]float64  // resource|verb -> requests (write verbs only, all groups)
	hist      map[float64]float64 // wattlet.dev write latency buckets: le -> count
	histCount float64
	cpu       map[string]float64 // component -> CPU seconds
	rss       map[string]float64 // component -> bytes
	dbSize    float64            // etcd_mvcc_db_total_size_in_bytes
	dbInUse   float64
	agents    string // wattlet agent pods running (they write the same resources)
}

type scaleResult struct {
	run                       scaleRun
	setupS                    float64
	steadyS                   float64
	peWrites, neWrites, wattW float64 // per s, steady, API server
	allWrites                 float64 // per s, every write the API server served, steady
	simReqs                   float64 // per s, the writers' own count, steady
	p50, p99                  float64 // s, wattlet.dev writes, steady window
	apiCPU, etcdCPU           float64 // cores, steady window
	apiRSS, etcdRSS           float64 // bytes at the end
	dbSize, dbInUse           float64
	startupS                  float64 // s until every writer had sent its start-up requests
	burstAPI5s, burstSim1s    float64 // peak writes/s in the first minute
	failed, refused           int     // writes failed; offers the writers refused
	others                    string  // agent pods seen writing alongside the sim
	simTotal                  string
}

var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true,
	"DELETECOLLECTION": true, "CREATE": true, "UPDATE": true}

func kubesimPath(t *testing.T, c *Cluster) string {
	t.Helper()
	p := filepath.Join(c.Root, envOr("E2E_AGENT_BUILD", "build"), "kubesim")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("E2E_REQUIRE_CLUSTER") == "1" {
			t.Fatalf("no %s: `make` builds it (sim/scale.mk)", p)
		}
		t.Skipf("skipped: no %s (build it with make BUILD=... %s)", p, p)
	}
	return p
}

func (c *Cluster) kubesim(t *testing.T, bin string, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := runCmd(timeout, bin, append(args, "--kubeconfig", c.Kubeconfig)...)
	if err != nil {
		t.Fatalf("kubesim %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func procStat(pid string) (cpuS, rssB float64) {
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				cpuS = (u + st) / 100 // USER_HZ
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					v, _ := strconv.ParseFloat(f[1], 64)
					rssB = v * 1024
				}
			}
		}
	}
	return
}

// takeScale snapshots the API server's counters (full: also latency, /proc and etcd).
func (c *Cluster) takeScale(t *testing.T, full bool) scaleSnap {
	t.Helper()
	s := scaleSnap{at: time.Now(), writes: map[string]float64{}, hist: map[float64]float64{},
		cpu: map[string]float64{}, rss: map[string]float64{}}
	out := c.Must(t, 60*time.Second, "get", "--raw", "/metrics")
	for _, smp := range promSamples(out, "apiserver_request_total") {
		if writeVerbs[smp.labels["verb"]] {
			s.writes[smp.labels["resource"]+"|"+smp.labels["verb"]] += smp.value
		}
	}
	// A wattlet agent running in the cluster (another suite, another user) writes
	// PodEnergy/NodeEnergy too, and apiserver_request_total has no namespace label.
	if out, err := c.Run(t, 20*time.Second, "get", "pods", "-A", "-l", "app.kubernetes.io/name=wattlet",
		"-o", "name"); err == nil {
		s.agents = strings.Join(strings.Fields(out), " ")
	}
	if !full {
		return s
	}
	for _, smp := range promSamples(out, "apiserver_request_duration_seconds_bucket") {
		if smp.labels["group"] != "wattlet.dev" || !writeVerbs[smp.labels["verb"]] {
			continue
		}
		le := math.Inf(1)
		if smp.labels["le"] != "+Inf" {
			le, _ = strconv.ParseFloat(smp.labels["le"], 64)
		}
		s.hist[le] += smp.value
	}
	for _, smp := range promSamples(out, "apiserver_request_duration_seconds_count") {
		if smp.labels["group"] == "wattlet.dev" && writeVerbs[smp.labels["verb"]] {
			s.histCount += smp.value
		}
	}
	for _, comp := range []string{"kube-apiserver", "etcd"} {
		b, err := os.ReadFile(filepath.Join(c.Root, "build", "e2e", "run", comp+".pid"))
		if err != nil {
			t.Fatalf("pid of %s: %v", comp, err)
		}
		s.cpu[comp], s.rss[comp] = procStat(strings.TrimSpace(string(b)))
	}
	if body, err := httpGet(etcdMetrics, 10*time.Second); err == nil {
		for _, smp := range promSamples(string(body), "etcd_mvcc_db_total_size_in_bytes") {
			s.dbSize = smp.value
		}
		for _, smp := range promSamples(string(body), "etcd_mvcc_db_total_size_in_use_in_bytes") {
			s.dbInUse = smp.value
		}
	}
	return s
}

func deltaWrites(a, b scaleSnap, resources ...string) float64 {
	n := 0.0
	for k, v := range b.writes {
		res := strings.SplitN(k, "|", 2)[0]
		ok := len(resources) == 0
		for _, r := range resources {
			ok = ok || r == res
		}
		if ok {
			n += v - a.writes[k]
		}
	}
	return n
}

// quantile of the latency histogram's increase between a and b (linear within a bucket).
func quantile(a, b scaleSnap, q float64) float64 {
	les := []float64{}
	for le := range b.hist {
		les = append(les, le)
	}
	sort.Float64s(les)
	total := b.histCount - a.histCount
	if total <= 0 || len(les) == 0 {
		return math.NaN()
	}
	want, prevLe, prevN := q*total, 0.0, 0.0
	for _, le := range les {
		n := b.hist[le] - a.hist[le]
		if n >= want {
			if math.IsInf(le, 1) {
				return prevLe
			}
			if n == prevN {
				return le
			}
			return prevLe + (le-prevLe)*(want-prevN)/(n-prevN)
		}
		prevLe, prevN = le, n
	}
	return prevLe
}

// simOut follows kubesim run's stdout: the per-second totals and the start-up mark.
type simOut struct {
	mu       sync.Mutex
	reqs     []float64 // requests so far, after tick i+1
	startup  int       // tick of "startup-done", 0 before
	total    string
	lines    []string
	done     chan struct{}
	notified chan struct{}
}

func (so *simOut) follow(r *bufio.Scanner) {
	defer close(so.done)
	once := false
	for r.Scan() {
		l := r.Text()
		f := strings.Fields(l)
		so.mu.Lock()
		switch {
		case len(f) >= 4 && f[0] == "tick":
			v, _ := strconv.ParseFloat(f[3], 64)
			so.reqs = append(so.reqs, v)
		case len(f) == 2 && f[0] == "startup-done":
			so.startup, _ = strconv.Atoi(f[1])
			if !once {
				once = true
				close(so.notified)
			}
		case len(f) > 0 && f[0] == "total":
			so.total = l
		default:
			so.lines = append(so.lines, l)
		}
		so.mu.Unlock()
	}
}

// runScale: setup has been done for run.K x run.P in ns. One rollout of K writers.
func (c *Cluster) runScale(t *testing.T, bin, ns string, run scaleRun) scaleResult {
	t.Helper()
	res := scaleResult{run: run}
	args := []string{"run", "--kubeconfig", c.Kubeconfig, "--ns", ns, "--nodes", strconv.Itoa(run.K)}
	if run.Budget > 0 {
		// the node count as an agent learns it (GET /api/v1/nodes?limit=1): K + the e2e node
		args = append(args, "--budget", fmt.Sprint(run.Budget), "--ceiling", fmt.Sprint(run.Ceiling))
	}
	s0 := c.takeScale(t, true)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	so := &simOut{done: make(chan struct{}), notified: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubesim run: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-so.done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-so.done
		}
		cmd.Wait()
	}
	defer stop()
	go so.follow(bufio.NewScanner(pipe))
	tStart := time.Now()

	// The rollout: the API server's wattlet writes every 5 s over the first minute.
	prev := s0
	for i := 0; i < int(run.BurstWindow/(5*time.Second)); i++ {
		time.Sleep(time.Until(tStart.Add(time.Duration(i+1) * 5 * time.Second))) // a sampling period
		s := c.takeScale(t, false)
		d := s.at.Sub(prev.at).Seconds()
		if r := deltaWrites(prev, s, "podenergies", "nodeenergies") / d; r > res.burstAPI5s {
			res.burstAPI5s = r
		}
		prev = s
	}
	// Steady state: once every writer has sent its start-up requests, plus Settle.
	select {
	case <-so.notified:
	case <-so.done:
		t.Fatalf("kubesim run ended early: %v", so.lines)
	case <-time.After(run.StartupMax - time.Since(tStart)):
		so.mu.Lock()
		t.Fatalf("start-up writes not done within %v (%d nodes x %d pods): requests %v", run.StartupMax,
			run.K, run.P, so.reqs[len(so.reqs)-1])
	}
	so.mu.Lock()
	res.startupS = float64(so.startup)
	so.mu.Unlock()
	time.Sleep(time.Until(tStart.Add(time.Duration(res.startupS*float64(time.Second)) + run.Settle))) // settling, by design
	sA := c.takeScale(t, true)
	so.mu.Lock()
	reqA := so.reqs[len(so.reqs)-1]
	so.mu.Unlock()
	time.Sleep(run.Steady) // the measurement window itself
	sB := c.takeScale(t, true)
	so.mu.Lock()
	reqB := so.reqs[len(so.reqs)-1]
	so.mu.Unlock()
	stop()
	for _, s := range []scaleSnap{sA, sB} {
		if s.agents != "" {
			res.others = s.agents
		}
	}

	secs := sB.at.Sub(sA.at).Seconds()
	res.steadyS = secs
	res.peWrites = deltaWrites(sA, sB, "podenergies") / secs
	res.neWrites = deltaWrites(sA, sB, "nodeenergies") / secs
	res.wattW = res.peWrites + res.neWrites
	res.allWrites = deltaWrites(sA, sB) / secs
	res.simReqs = (reqB - reqA) / secs
	res.p50, res.p99 = quantile(sA, sB, 0.5), quantile(sA, sB, 0.99)
	res.apiCPU = (sB.cpu["kube-apiserver"] - sA.cpu["kube-apiserver"]) / secs
	res.etcdCPU = (sB.cpu["etcd"] - sA.cpu["etcd"]) / secs
	res.apiRSS, res.etcdRSS = sB.rss["kube-apiserver"], sB.rss["etcd"]
	res.dbSize, res.dbInUse = sB.dbSize, sB.dbInUse
	so.mu.Lock()
	for i := 0; i < len(so.reqs) && i < int(run.BurstWindow/time.Second); i++ {
		p := 0.0
		if i > 0 {
			p = so.reqs[i-1]
		}
		if so.reqs[i]-p > res.burstSim1s {
			res.burstSim1s = so.reqs[i] - p
		}
	}
	res.simTotal = so.total
	// "total key value key value ..."
	if f := strings.Fields(so.total); len(f) > 1 {
		for i := 1; i+1 < len(f); i += 2 {
			switch f[i] {
			case "failed":
				res.failed, _ = strconv.Atoi(f[i+1])
			case "offers_refused":
				res.refused, _ = strconv.Atoi(f[i+1])
			}
		}
	}
	so.mu.Unlock()
	t.Logf("%s", res.row())
	if res.others != "" {
		t.Logf("NOTE: wattlet agent pods (%s) were writing too: the API server's counts include them", res.others)
	}
	t.Logf("kubesim: %s", res.simTotal)
	if res.failed > 0 {
		so.mu.Lock()
		t.Logf("kubesim said: %s", strings.Join(so.lines, "\n"))
		so.mu.Unlock()
	}
	return res
}

func (r scaleResult) budgetName() string {
	if r.run.Budget == 0 {
		return "off"
	}
	return fmt.Sprintf("%.0f/s, ceil %.0f/s", r.run.Budget, r.run.Ceiling)
}

func scaleHeader() string {
	return "| nodes x pods | budget | writes/s (PodEnergy + NodeEnergy) | / budget 50 | all writes/s | p50 / p99 ms | apiserver CPU | etcd CPU | apiserver RSS | etcd RSS | etcd db (in use) | start-up s | burst /s (5 s API, 1 s sim) |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}

func (r scaleResult) row() string {
	return fmt.Sprintf("| %d x %d | %s | %.2f (%.2f + %.2f) | %.2f | %.1f | %.0f / %.0f | %.2f | %.2f | %.0f MB | %.0f MB | %.1f MB (%.1f) | %.0f | %.0f, %.0f |",
		r.run.K, r.run.P, r.budgetName(), r.wattW, r.peWrites, r.neWrites, r.wattW/scaleBudget, r.allWrites,
		r.p50*1000, r.p99*1000, r.apiCPU, r.etcdCPU, r.apiRSS/1e6, r.etcdRSS/1e6, r.dbSize/1e6, r.dbInUse/1e6,
		r.startupS, r.burstAPI5s, r.burstSim1s)
}

// scaleSetup: CRDs, a fresh namespace with K nodes x P pods (kubesim setup), torn down
// when the test ends (pods with grace 0, NodeEnergies, Nodes, the namespace).
func (c *Cluster) scaleSetup(t *testing.T, bin string, k, p int) (string, float64) {
	t.Helper()
	for _, crd := range []string{"podenergies", "nodeenergies"} {
		c.Must(t, 60*time.Second, "apply", "-f", filepath.Join(c.Root, "crds", crd+".wattlet.dev.yaml"))
		c.Must(t, 60*time.Second, "wait", "--for=condition=Established", "crd/"+crd+".wattlet.dev", "--timeout=50s")
	}
	// What an interrupted run left.
	if out, err := c.Run(t, 20*time.Second, "get", "ns", "-l", "wattlet.dev/kubesim=true", "-o", "name"); err == nil {
		for _, n := range strings.Fields(out) {
			c.kubesim(t, bin, 5*time.Minute, "teardown", "--ns", strings.TrimPrefix(n, "namespace/"))
		}
	}
	ns := fmt.Sprintf("scale-%d", time.Now().UnixNano()%1000000)
	t.Cleanup(func() {
		if out, err := runCmd(5*time.Minute, bin, "teardown", "--ns", ns, "--kubeconfig", c.Kubeconfig); err != nil {
			t.Logf("cleanup: kubesim teardown: %v %s", err, out)
		}
	})
	t0 := time.Now()
	c.kubesim(t, bin, 15*time.Minute, "setup", "--ns", ns, "--nodes", strconv.Itoa(k), "--pods", strconv.Itoa(p))
	return ns, time.Since(t0).Seconds()
}

// TestScaleSmoke: 3 simulated nodes x 10 pods with the default write budget (50/s,
// ceiling 2/s per node) for one minute of steady state. Every PodEnergy exists with a
// status, owned by its Pod (the writers used the real pods' uids), on its node, kept
// at the 60 s interval (a small cluster is not stretched); every NodeEnergy exists; the
// API server counted wattlet writes in the steady window, more than none and no more
// than the formula's ceiling K * (P / 60 + 1 / 30) with slack (nor the budget); the
// writers' own count agrees with the API server's; no write failed.
func TestScaleSmoke(t *testing.T) {
	c := NeedCluster(t)
	bin := kubesimPath(t, c)
	const k, p = 3, 10
	ns, setupS := c.scaleSetup(t, bin, k, p)
	r := c.runScale(t, bin, ns, scaleRun{K: k, P: p, Budget: scaleBudget, Ceiling: scaleCeiling,
		Steady: 60 * time.Second, Settle: 2 * time.Second,
		StartupMax: 90 * time.Second, BurstWindow: 15 * time.Second})
	r.setupS = setupS

	ceiling := float64(k) * (float64(p)/60 + 1/30.0)
	judged := r.wattW // the API server's count
	if r.others != "" {
		// Not ours alone: judge the writers' own count (checked against the API server
		// whenever nothing else writes, below).
		t.Logf("a wattlet agent was running (%s): the API server counted its writes too; "+
			"judging the writers' own count %.3f/s", r.others, r.simReqs)
		judged = r.simReqs
	}
	if judged <= 0 {
		t.Errorf("no PodEnergy/NodeEnergy writes counted by the API server in %.0f s of steady state", r.steadyS)
	}
	if limit := ceiling*1.25 + 2/r.steadyS; judged > limit || judged > scaleBudget {
		t.Errorf("%.3f writes/s, above the formula's ceiling %.3f/s (+25 %%: %.3f/s) or the budget %.0f/s",
			judged, ceiling, limit, scaleBudget)
	}
	// The sim's count of its own requests equals the API server's (other writers to
	// these resources in the same window, e.g. a concurrently installed agent, would
	// show as a difference).
	if d := math.Abs(r.simReqs-r.wattW) * r.steadyS; r.others == "" && d > 3+0.05*r.wattW*r.steadyS {
		t.Errorf("the writers counted %.0f requests, the API server %.0f", r.simReqs*r.steadyS, r.wattW*r.steadyS)
	}
	if r.failed != 0 || r.refused != 0 || r.simTotal == "" {
		t.Errorf("%d writes failed, %d offers refused: %q", r.failed, r.refused, r.simTotal)
	}
	out := c.Must(t, 30*time.Second, "get", "pods", "-n", ns, "-o",
		`jsonpath={range .items[*]}{.metadata.name}{"="}{.metadata.uid}{"="}{.spec.nodeName}{"\n"}{end}`)
	pods := map[string]string{}
	for _, l := range strings.Fields(out) {
		if f := strings.SplitN(l, "=", 2); len(f) == 2 {
			pods[f[0]] = f[1] // uid=node
		}
	}
	out = c.Must(t, 30*time.Second, "get", "podenergies", "-n", ns, "-o",
		`jsonpath={range .items[*]}{.metadata.name}{"="}{.metadata.ownerReferences[0].uid}{"="}{.status.lastMeasured}{"="}{.spec.nodeName}{"="}{.status.refreshIntervalSeconds}{"\n"}{end}`)
	seen := 0
	for _, l := range strings.Fields(out) {
		f := strings.Split(l, "=")
		if len(f) != 5 {
			continue
		}
		if f[4] != "60" {
			t.Errorf("PodEnergy %s: refreshIntervalSeconds %q, want 60 (%d nodes x %d pods fit the budget)", f[0], f[4], k, p)
		}
		if pod, ok := pods[f[0]]; !ok || pod != f[1]+"="+f[3] || f[2] == "" {
			t.Errorf("PodEnergy %s: owner uid %s, node %s (the pod: uid=node %s), lastMeasured %q", f[0], f[1], f[3], pod, f[2])
			continue
		}
		seen++
	}
	if len(pods) != k*p || seen != k*p {
		t.Errorf("%d pods, %d PodEnergies with status owned by their pod; want %d each", len(pods), seen, k*p)
	}
	for i := 0; i < k; i++ {
		n := fmt.Sprintf("sim-node-%02d", i)
		if out, err := c.Run(t, 20*time.Second, "get", "nodeenergy", n, "-o", "jsonpath={.status.energySource}"); err != nil || out != "meter" {
			t.Errorf("NodeEnergy %s: energySource %q %v", n, out, err)
		}
	}
	t.Logf("setup %.1f s\n%s\n%s", setupS, scaleHeader(), r.row())
}

// TestScale is `make scale`: K = 10, 25, 50 simulated nodes x 100 pods, budget off and
// on, a table with the ratio of the steady writes to the 50/s budget.
func TestScale(t *testing.T) {
	if os.Getenv("E2E_SCALE") != "1" {
		t.Skip("skipped: `make scale` runs it (E2E_SCALE=1; ~20 min)")
	}
	c := NeedCluster(t)
	bin := kubesimPath(t, c)
	p, _ := strconv.Atoi(envOr("E2E_SCALE_PODS", "100"))
	steady, err := time.ParseDuration(envOr("E2E_SCALE_STEADY", "120s"))
	if err != nil {
		t.Fatalf("E2E_SCALE_STEADY: %v", err)
	}
	modes := strings.Split(envOr("E2E_SCALE_BUDGET", "off,on"), ",")
	var rows []scaleResult
	for _, ks := range strings.Split(envOr("E2E_SCALE_NODES", "10,25,50"), ",") {
		k, err := strconv.Atoi(strings.TrimSpace(ks))
		if err != nil || k <= 0 {
			t.Fatalf("E2E_SCALE_NODES: bad %q", ks)
		}
		t.Run(fmt.Sprintf("K%d", k), func(t *testing.T) {
			ns, setupS := c.scaleSetup(t, bin, k, p)
			t.Logf("setup of %d nodes x %d pods: %.1f s", k, p, setupS)
			for _, m := range modes {
				run := scaleRun{K: k, P: p, Steady: steady, Settle: 10 * time.Second, BurstWindow: time.Minute}
				if strings.TrimSpace(m) == "on" {
					run.Budget, run.Ceiling = scaleBudget, scaleCeiling
				}
				// start-up: 2 requests per pod and per node, at 5/s per node or the budget
				rate := 5.0 * float64(k)
				if run.Budget > 0 && run.Budget < rate {
					rate = run.Budget
				}
				run.StartupMax = time.Duration((float64(2*k*(p+1))/rate*3 + 120) * float64(time.Second))
				r := c.runScale(t, bin, ns, run)
				r.setupS = setupS
				rows = append(rows, r)
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "make scale: %d pods per node, steady window %v, budget %.0f/s, ceiling %.0f/s\n", p, steady, scaleBudget, scaleCeiling)
	fmt.Fprintf(&b, "(this machine: 2 cores shared with the load generator and whatever else runs; CPU in cores)\n")
	fmt.Fprintln(&b, scaleHeader())
	for _, r := range rows {
		fmt.Fprintln(&b, r.row())
	}
	t.Log("\n" + b.String())
	for _, r := range rows {
		if r.run.Budget > 0 && r.wattW > r.run.Budget*1.05 {
			t.Errorf("%d nodes, budget on: %.2f writes/s above the budget %.0f/s", r.run.K, r.wattW, r.run.Budget)
		}
	}
}
