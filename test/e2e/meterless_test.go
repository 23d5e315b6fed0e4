package e2e

// meterless_test.go - the chart as a user installs it on a node without an energy meter
// (these machines have no RAPL; no simulated meter here), issue 19: the NodeEnergy says
// so from the first tick (source none, condition EnergySource False/NoMeter with what to
// do) instead of staying blank while every status write fails; PodEnergies say their
// zeros are not measurements; an estimated PowerModel then turns both into estimates.
// Also issue 14: by default the agent maps pods through the API server and may not
// touch any kubelet (no nodes/proxy).

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type neCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type nodeEnergyObj struct {
	Status struct {
		EnergySource string  `json:"energySource"`
		Watts        float64 `json:"watts"`
		Joules       float64 `json:"joules"`
		Model        struct {
			Name           string   `json:"name"`
			EstimatedZones []string `json:"estimatedZones"`
		} `json:"model"`
		Meters []struct {
			Kind   string `json:"kind"`
			InUse  bool   `json:"inUse"`
			Reason string `json:"reason"`
		} `json:"meters"`
		WriteErrors *struct {
			FailedWrites int    `json:"failedWrites"`
			LastReason   string `json:"lastReason"`
			LastMessage  string `json:"lastMessage"`
		} `json:"writeErrors"`
		Conditions []neCondition `json:"conditions"`
	} `json:"status"`
}

func (n *nodeEnergyObj) cond(typ string) (neCondition, bool) {
	for _, c := range n.Status.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return neCondition{}, false
}

// metricSum sums the samples of /metrics lines that start with prefix (a name, or a name
// with the start of its labels); found is false when there is none.
func metricSum(base, prefix string) (sum float64, found bool, err error) {
	body, err := httpGet(base+"/metrics", 5*time.Second)
	if err != nil {
		return 0, false, err
	}
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, prefix) && !strings.HasPrefix(l, "#") {
			f := strings.Fields(l)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				sum += v
				found = true
			}
		}
	}
	return sum, found, nil
}

// blankColumns names the columns of a one-row `kubectl get` table that are empty
// (tableRows, owner_test.go: cells cut at the headers' offsets, as values may hold
// spaces, "0 W").
func blankColumns(table string) ([]string, error) {
	rows := tableRows(table)
	if len(rows) != 1 {
		return nil, fmt.Errorf("%d rows, want 1:\n%s", len(rows), table)
	}
	var blank []string
	for k, v := range rows[0] {
		if v == "" {
			blank = append(blank, k)
		}
	}
	return blank, nil
}

func TestMeterless(t *testing.T) {
	c := NeedCluster(t)
	t0 := time.Now()
	getNE := func() (nodeEnergyObj, string, error) {
		var ne nodeEnergyObj
		out, err := c.GetJSON(t, &ne, "nodeenergy", c.Node)
		return ne, out, err
	}
	// A NodeEnergy an earlier suite left (it outlives the agent) must not pass for ours.
	c.Run(t, 30*time.Second, "delete", "nodeenergy", c.Node, "--ignore-not-found")
	c.InstallAgentNoMeter(t, "config.tick=1s", "config.kubernetes.podenergy_interval=10s")
	installed := time.Now()
	t.Logf("chart installed without a meter in %.1f s", installed.Sub(t0).Seconds())
	base := c.AgentURL(t)

	// From the first status on, the NodeEnergy is never blank again: a sampler checks
	// it every 2 s for the rest of the suite.
	var firstStatus time.Time
	Eventually(t, 60*time.Second, 500*time.Millisecond, "NodeEnergy status written", func() (bool, string) {
		ne, out, err := getNE()
		if err != nil {
			return false, err.Error()
		}
		if ne.Status.EnergySource == "" {
			return false, "no status.energySource yet: " + lineWith(out, "status")
		}
		firstStatus = time.Now()
		return true, ""
	}, func() string {
		logs, _ := c.Run(t, 20*time.Second, "logs", "-n", AgentNamespace, "ds/"+AgentRelease, "--tail=40")
		return "agent log:\n" + logs
	})
	t.Logf("first NodeEnergy status %.1f s after the install finished", firstStatus.Sub(installed).Seconds())
	var mu sync.Mutex
	blanks, samples := 0, 0
	lastBlank := ""
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			out, err := c.Run(t, 20*time.Second, "get", "nodeenergy", c.Node)
			if err != nil {
				continue // the API's hiccup is not the agent's
			}
			blank, err := blankColumns(out)
			mu.Lock()
			samples++
			if err != nil || len(blank) > 0 {
				blanks++
				lastBlank = fmt.Sprintf("blank %v (%v):\n%s", blank, err, out)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		t.Logf("kubectl get nodeenergy sampled %d times after the first status, %d with a blank column", samples, blanks)
		if blanks > 0 {
			t.Errorf("NodeEnergy had blank columns %d times after its first status, e.g. %s", blanks, lastBlank)
		}
	})

	t.Run("nodeenergy-says-no-meter", func(t *testing.T) {
		ne, out, err := getNE()
		if err != nil {
			t.Fatal(err)
		}
		if ne.Status.EnergySource != "none" {
			t.Errorf("energySource %q, want none", ne.Status.EnergySource)
		}
		es, ok := ne.cond("EnergySource")
		if !ok || es.Status != "False" || es.Reason != "NoMeter" ||
			!strings.Contains(es.Message, "PowerModel with estimated zones") {
			t.Errorf("EnergySource condition %+v (found %v)\n%s", es, ok, out)
		}
		powercap := false
		for _, m := range ne.Status.Meters {
			if m.InUse {
				t.Errorf("meter %s in use on a node without a meter", m.Kind)
			}
			if m.Kind == "powercap" && m.Reason != "" {
				powercap = true
			}
		}
		if !powercap {
			t.Errorf("status.meters does not say why powercap is not used: %+v", ne.Status.Meters)
		}
		if ne.Status.WriteErrors != nil {
			t.Errorf("writes failed: %+v", *ne.Status.WriteErrors)
		}
		table := c.Must(t, 20*time.Second, "get", "nodeenergy", c.Node)
		t.Logf("kubectl get nodeenergy:\n%s", table)
		rows := tableRows(table)
		if len(rows) != 1 {
			t.Fatalf("not one row:\n%s", table)
		}
		if _, ok := rows[0]["SOURCE"]; !ok {
			t.Fatalf("no SOURCE/REASON columns:\n%s", table)
		}
		if rows[0]["SOURCE"] != "none" || rows[0]["REASON"] != "NoMeter" {
			t.Errorf("row %v: want SOURCE none, REASON NoMeter", rows[0])
		}
		if blank, _ := blankColumns(table); len(blank) > 0 {
			t.Errorf("blank columns %v:\n%s", blank, table)
		}
		// no NodeEnergy write failed, and some went through (the metrics show the
		// writer's counters as of the agent's last tick)
		Eventually(t, 30*time.Second, time.Second, "NodeEnergy writes ok, none failed", func() (bool, string) {
			okW, _, err1 := metricSum(base, `wattlet_kube_writes_total{resource="nodeenergies",result="ok"}`)
			failW, _, err2 := metricSum(base, `wattlet_kube_writes_total{resource="nodeenergies",result="failed"}`)
			failR, anyR, err3 := metricSum(base, `wattlet_kube_write_failures_total{resource="nodeenergies"`)
			if err1 != nil || err2 != nil || err3 != nil {
				return false, fmt.Sprint(err1, err2, err3)
			}
			if failW != 0 || (anyR && failR != 0) {
				t.Fatalf("NodeEnergy writes failed: %v (by reason: %v)", failW, failR)
			}
			return okW >= 1, fmt.Sprintf("ok %v", okW)
		}, nil)
	})

	t.Run("rbac-no-kubelet-access", func(t *testing.T) {
		c.CheckAgentCanI(t, []canI{
			{[]string{"get", "nodes", "--subresource=proxy"}, "no"},
			{[]string{"get", "nodes", "--subresource=pods"}, "no"},
			{[]string{"watch", "pods", "-A"}, "yes"},
		})
	})

	ns := c.Namespace(t, "meterless")
	uid := c.StartPod(t, onePod{Name: "busy", NS: ns,
		Args:      `["--cpu", "1", "--cpu-load", "60", "--timeout", "900s"]`,
		Resources: "{requests: {cpu: 100m, memory: 16Mi}}"})
	type podEnergyObj struct {
		Spec struct {
			PodUID string `json:"podUID"`
		} `json:"spec"`
		Status struct {
			EnergySource string  `json:"energySource"`
			Model        string  `json:"model"`
			Watts        float64 `json:"watts"`
			DynamicWatts float64 `json:"dynamicWatts"`
			Joules       float64 `json:"joules"`
		} `json:"status"`
	}
	getPE := func() (podEnergyObj, error) {
		var pe podEnergyObj
		_, err := c.GetJSON(t, &pe, "podenergy", "-n", ns, "busy")
		return pe, err
	}

	t.Run("pods-mapped-energy-none", func(t *testing.T) {
		t1 := time.Now()
		Eventually(t, 90*time.Second, 500*time.Millisecond, "PodEnergy busy (source none)", func() (bool, string) {
			pe, err := getPE()
			if err != nil {
				return false, err.Error()
			}
			return pe.Spec.PodUID == uid && pe.Status.EnergySource == "none",
				fmt.Sprintf("podUID %q (want %s), energySource %q", pe.Spec.PodUID, uid, pe.Status.EnergySource)
		}, nil)
		t.Logf("PodEnergy for the pod %.1f s after it was Ready (pods from the API server watch)", time.Since(t1).Seconds())
		table := c.Must(t, 20*time.Second, "get", "podenergy", "-n", ns)
		t.Logf("kubectl get podenergy:\n%s", table)
		if !strings.Contains(table, "SOURCE") || !strings.Contains(table, "none") {
			t.Errorf("kubectl get podenergy does not show SOURCE none:\n%s", table)
		}
	})

	t.Run("estimated-powermodel", func(t *testing.T) {
		// What `wattlet model fit` writes for a node without a meter: package and dram
		// estimated from CPU time (k8s/examples/powermodel-estimated.yaml), selecting
		// every node.
		c.Apply(t, `apiVersion: wattlet.dev/v1alpha1
kind: PowerModel
metadata: {name: e2e-estimated}
spec:
  nodeSelector: {}
  priority: 50
  attribution: regression
  zones:
    - zone: package
      source: estimated
      regression:
        interceptWatts: 20
        coefficients:
          - {feature: cpu_time, weight: 15}
    - zone: dram
      source: estimated
      regression:
        interceptWatts: 2
        coefficients:
          - {feature: cpu_time, weight: 0.5}
`)
		t.Cleanup(func() { c.Run(t, 30*time.Second, "delete", "powermodel", "e2e-estimated") })
		t1 := time.Now()
		Eventually(t, 120*time.Second, time.Second, "NodeEnergy source model", func() (bool, string) {
			ne, _, err := getNE()
			if err != nil {
				return false, err.Error()
			}
			es, _ := ne.cond("EnergySource")
			ok := ne.Status.EnergySource == "model" && ne.Status.Model.Name == "e2e-estimated" &&
				es.Status == "True" && es.Reason == "ModelEstimated" && ne.Status.Watts > 0 &&
				strings.Join(ne.Status.Model.EstimatedZones, ",") == "package,dram"
			return ok, fmt.Sprintf("source %q model %q zones %v watts %.2f condition %+v", ne.Status.EnergySource,
				ne.Status.Model.Name, ne.Status.Model.EstimatedZones, ne.Status.Watts, es)
		}, nil)
		t.Logf("NodeEnergy on the model %.1f s after it was applied", time.Since(t1).Seconds())
		var j0 float64
		Eventually(t, 90*time.Second, time.Second, "PodEnergy busy estimated, nonzero", func() (bool, string) {
			pe, err := getPE()
			if err != nil {
				return false, err.Error()
			}
			j0 = pe.Status.Joules
			// stress-ng at 60 % of a core, 15 W per CPU-second: ~9 W dynamic
			return pe.Status.EnergySource == "estimated" && pe.Status.Model == "e2e-estimated" &&
					pe.Status.DynamicWatts > 1 && pe.Status.Joules > 0,
				fmt.Sprintf("%+v", pe.Status)
		}, nil)
		Eventually(t, 60*time.Second, time.Second, "PodEnergy busy joules grow", func() (bool, string) {
			pe, err := getPE()
			if err != nil {
				return false, err.Error()
			}
			return pe.Status.Joules > j0, fmt.Sprintf("joules %.2f, before %.2f", pe.Status.Joules, j0)
		}, nil)
		pe, _ := getPE()
		t.Logf("PodEnergy busy estimated %.1f s after the model: %.2f W (dynamic %.2f), %.1f J",
			time.Since(t1).Seconds(), pe.Status.Watts, pe.Status.DynamicWatts, pe.Status.Joules)
		t.Logf("kubectl get nodeenergy:\n%s", c.Must(t, 20*time.Second, "get", "nodeenergy", c.Node))
		t.Logf("kubectl get podenergy:\n%s", c.Must(t, 20*time.Second, "get", "podenergy", "-n", ns))
	})
	t.Logf("TestMeterless took %.1f s", time.Since(t0).Seconds())
}

// raplJoules sums the energy_uj of the raplsim tree's package and dram domains, in J.
// Each domain once: the tree, like the kernel's, shows a subzone both nested
// (intel-rapl:0/intel-rapl:0:1) and under its flat alias (intel-rapl:0:1, a symlink), so
// the directories are resolved and counted by their real path (counting both made
// "raplsim" 1.5 W + 0.5 W per busy CPU too high, which read as the estimate being 6-7 %
// low). Exactly one package and one dram, or an error.
func raplJoules(root string) (float64, error) {
	names, err := filepath.Glob(filepath.Join(root, "intel-rapl:*", "name"))
	sub, _ := filepath.Glob(filepath.Join(root, "intel-rapl:*", "intel-rapl:*", "name"))
	names = append(names, sub...)
	if err != nil || len(names) == 0 {
		return 0, fmt.Errorf("no raplsim domains under %s", root)
	}
	seen := map[string]bool{}
	sum, pkg, dram := 0.0, 0, 0
	for _, nf := range names {
		real, err := filepath.EvalSymlinks(filepath.Dir(nf))
		if err != nil {
			return 0, err
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		b, err := os.ReadFile(nf)
		if err != nil {
			return 0, err
		}
		name := strings.TrimSpace(string(b))
		switch {
		case strings.HasPrefix(name, "package"):
			pkg++
		case name == "dram":
			dram++
		default:
			continue
		}
		e, err := os.ReadFile(filepath.Join(real, "energy_uj"))
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(e)), 64)
		if err != nil {
			return 0, err
		}
		sum += v / 1e6
	}
	if pkg != 1 || dram != 1 {
		return 0, fmt.Errorf("raplsim tree %s: %d package and %d dram domains, want one of each", root, pkg, dram)
	}
	return sum, nil
}

// TestMeterlessFitLoop: the loop a user without a meter follows, end to end. Record on a
// "metered node of the same hardware" (this host with the SIMULATED meter raplsim, whose
// curve is the truth here), `wattlet model fit`, apply the PowerModel, install the chart
// without a meter: the agent's estimate of package + dram power under load is compared
// with raplsim over the same ~40 s, and must agree within the fit's stated error (its
// held-out MAPE) plus the comparison's own noise, measured over 8 windows (see below).
// Refuses to judge, saying why, when the machine is too busy: a recording without a
// spread of load (nothing to fit), or a comparison whose noise could hide a 5 % error.
// Earlier sessions saw the estimate "5.5-6.8 % low": the test counted raplsim's dram
// twice (nested and flat alias paths), 1.5 W + 0.5 W/CPU too much; with dram counted
// once the numbers of those runs agree to 0.1 % (e.g. the agent's 28.11 W vs "raplsim"
// 30.16 W = 13 + 16 x 1.0725 busy CPUs with dram twice; the true curve gives 11.5 + 15.5
// x 1.0725 = 28.12 W).
func TestMeterlessFitLoop(t *testing.T) {
	c := NeedCluster(t)
	bin := filepath.Join(c.Root, envOr("E2E_AGENT_BUILD", "build"))
	dir := t.TempDir()
	rapl := filepath.Join(dir, "rapl")
	t0 := time.Now()
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		logf, _ := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	sim := start(filepath.Join(bin, "raplsim"), "--dir", rapl, "--interval-ms", "50")
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	Eventually(t, 10*time.Second, 100*time.Millisecond, "raplsim tree", func() (bool, string) {
		_, err := raplJoules(rapl)
		return err == nil, fmt.Sprint(err)
	}, nil)

	// 1. record 64 s of varied load (0, 1, 2 busy CPUs) on the "metered node"
	rec := filepath.Join(dir, "rec.csv")
	// usage as the chart's agent takes it (usage.source auto: eBPF where it loads)
	agent := start(filepath.Join(bin, "wattlet"), "run", "--listen", "", "--checkpoint", "",
		"--powercap-root", rapl, "--tick", "1s",
		"--set", "kubernetes.enabled=false", "--record", rec, "--duration", "66s")
	for _, cpus := range []int{0, 1, 2, 0, 1, 2, 1, 0} {
		if cpus == 0 {
			time.Sleep(8 * time.Second) // an idle phase is a phase of the recording
			continue
		}
		if out, err := runCmd(30*time.Second, "stress-ng", "--cpu", strconv.Itoa(cpus), "--timeout", "8s", "--quiet"); err != nil {
			t.Fatalf("stress-ng: %v %s", err, out)
		}
	}
	if err := agent.Wait(); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "wattlet.log"))
		t.Fatalf("recording agent: %v\n%s", err, b)
	}

	// 2. fit
	model := filepath.Join(dir, "model.yaml")
	out, err := runCmd(60*time.Second, filepath.Join(bin, "wattlet"), "model", "fit", rec, "-o", model,
		"--name", "e2e-fit", "--holdout", "0.25", "--zones", "package,dram")
	if err != nil && strings.Contains(out, "does not vary") {
		// Other work kept this shared machine saturated through the 0/1/2-CPU phases:
		// there is no spread of load to fit, and the fit says so rather than guessing.
		t.Skipf("cannot judge: the recording's load did not vary (the machine was saturated by other work), so no model can be fitted:\n%s", out)
	}
	if err != nil {
		t.Fatalf("wattlet model fit: %v\n%s", err, out)
	}
	y, _ := os.ReadFile(model)
	mape := -1.0
	for _, l := range strings.Split(string(y), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "wattlet.dev/fit-mape:"); ok {
			mape, _ = strconv.ParseFloat(strings.Trim(strings.TrimSpace(v), `"`), 64)
		}
	}
	if mape < 0 {
		t.Fatalf("no wattlet.dev/fit-mape in the fitted model:\n%s", y)
	}
	t.Logf("recorded and fitted in %.1f s: held-out MAPE %.2f %%\n%s", time.Since(t0).Seconds(), mape, y)

	// 3. apply it to every node, the chart without a meter
	c.Run(t, 30*time.Second, "delete", "nodeenergy", c.Node, "--ignore-not-found")
	c.InstallAgentNoMeter(t, "config.tick=1s")
	if _, err := c.RunIn(t, 30*time.Second, string(y), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Run(t, 30*time.Second, "delete", "powermodel", "e2e-fit") })
	c.Must(t, 30*time.Second, "patch", "powermodel", "e2e-fit", "--type=json", "-p",
		`[{"op":"add","path":"/spec/nodeSelector","value":{}},{"op":"add","path":"/spec/priority","value":60}]`)
	Eventually(t, 120*time.Second, time.Second, "NodeEnergy on e2e-fit", func() (bool, string) {
		m, err := c.Run(t, 20*time.Second, "get", "nodeenergy", c.Node, "-o", "jsonpath={.status.energySource}/{.status.model.name}")
		return err == nil && m == "model/e2e-fit", fmt.Sprintf("%q %v", m, err)
	}, nil)
	base := c.AgentURL(t)

	// 4. compare under load: the agent's estimate vs raplsim, read right after agent ticks
	// (its totals move once per tick) at the ends of nWin windows of ~5 s.
	load := start("stress-ng", "--cpu", "1", "--timeout", "70s", "--quiet")
	t.Cleanup(func() { load.Process.Kill(); load.Wait() })
	time.Sleep(5 * time.Second) // let the load settle into both: a measurement window, not synchronisation
	type snap struct {
		agentJ, simJ float64
		at           time.Time
	}
	read := func() snap {
		t0, _, err := metricSum(base, "wattlet_agent_ticks_total")
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			t1, _, err := metricSum(base, "wattlet_agent_ticks_total")
			if err == nil && t1 > t0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the agent did not tick within 5 s (%v)", err)
			}
		}
		a1, ok1, err1 := metricSum(base, `wattlet_node_joules_total{zone="package"`)
		a2, ok2, err2 := metricSum(base, `wattlet_node_joules_total{zone="dram"`)
		s, err3 := raplJoules(rapl)
		if err1 != nil || err2 != nil || err3 != nil || !ok1 || !ok2 {
			t.Fatalf("readings: %v %v %v (package %v dram %v)", err1, err2, err3, ok1, ok2)
		}
		return snap{a1 + a2, s, time.Now()}
	}
	const nWin = 8
	snaps := []snap{read()}
	for i := 0; i < nWin; i++ {
		time.Sleep(5 * time.Second)
		snaps = append(snaps, read())
	}
	first, last := snaps[0], snaps[nWin]
	dt := last.at.Sub(first.at).Seconds()
	aw, sw := (last.agentJ-first.agentJ)/dt, (last.simJ-first.simJ)/dt
	errPct := 100 * (aw - sw) / sw
	// The comparison's own noise, measured: each window's error scatters with the few
	// tens of ms between the agent's tick and our read of raplsim (an agent pod with a
	// 50m CPU request on a loaded machine answers late) and raplsim's 50 ms grid. The
	// whole span's error is their mean; its standard error is sd/sqrt(nWin) (edge errors
	// alone would give sd/nWin: this is the larger, so a noisy run does not fail wrongly).
	// The bound: the fit's stated error (held-out MAPE, the worst zone's) plus the 99 %
	// two-sided Student-t interval of that mean (t = 3.50 for nWin-1 = 7 degrees of freedom).
	var errs []float64
	mean := 0.0
	for i := 1; i <= nWin; i++ {
		da, ds := snaps[i].agentJ-snaps[i-1].agentJ, snaps[i].simJ-snaps[i-1].simJ
		e := 100 * (da - ds) / ds
		errs = append(errs, e)
		mean += e / nWin
	}
	ss := 0.0
	for _, e := range errs {
		ss += (e - mean) * (e - mean)
	}
	sd := math.Sqrt(ss / (nWin - 1))
	noise := 3.50 * sd / math.Sqrt(nWin)
	bound := mape + noise
	ws := make([]string, len(errs))
	for i, e := range errs {
		ws[i] = fmt.Sprintf("%+.2f", e)
	}
	t.Logf("package+dram under stress-ng --cpu 1 over %.1f s: agent estimate %.2f W, raplsim %.2f W: %+.2f %%; "+
		"bound %.2f %% = fit MAPE %.2f %% + comparison noise %.2f %% (per-window errors %s %%, sd %.2f)",
		dt, aw, sw, errPct, bound, mape, noise, strings.Join(ws, " "), sd)
	// A window so disturbed that a 5 % bias could hide in its noise (the size of the
	// faults this test exists for: a zone lost or counted twice, wrong units, the model
	// not applied) cannot be judged either way.
	if noise > 5 {
		t.Skipf("cannot judge: the comparison's noise %.2f %% (per-window errors %s %%) is too large on this loaded machine to tell a 5 %% error", noise, strings.Join(ws, " "))
	}
	if math.Abs(errPct) > bound {
		t.Errorf("estimate off by %+.2f %%, beyond the fit's MAPE %.2f %% + the comparison's noise %.2f %%", errPct, mape, noise)
	}
	t.Logf("TestMeterlessFitLoop took %.1f s", time.Since(t0).Seconds())
}
