package e2e

// Shared helpers for the e2e suites: locate the cluster made by hack/cluster-up.sh and
// drive it with its own kubectl. Suites run with `make e2e` (cluster up, go test, down).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Cluster describes the running e2e cluster.
type Cluster struct {
	Root       string // repository root
	Kubectl    string // build/e2e/bin/kubectl
	Helm       string // build/e2e/bin/helm
	Kubeconfig string // admin (system:masters) kubeconfig
	PKI        string // build/e2e/pki (ca.crt, ...)
	Node       string // the node's name
	NodeIP     string // the node's InternalIP (kubelet listens on :10250)
}

func clusterRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "cluster-up.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no hack/cluster-up.sh above the working directory")
		}
		dir = parent
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// NeedCluster returns the cluster, or skips the test when none is up - unless
// E2E_REQUIRE_CLUSTER=1 (set by `make e2e`), where a missing cluster is a failure.
func NeedCluster(t *testing.T) *Cluster {
	t.Helper()
	root, err := clusterRepoRoot()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	e2e := filepath.Join(root, "build", "e2e")
	c := &Cluster{
		Root:       root,
		Kubectl:    filepath.Join(e2e, "bin", "kubectl"),
		Helm:       filepath.Join(e2e, "bin", "helm"),
		Kubeconfig: envOr("KUBECONFIG", filepath.Join(e2e, "pki", "admin.kubeconfig")),
		PKI:        filepath.Join(e2e, "pki"),
		Node:       envOr("E2E_NODE", "wattlet-e2e-node"),
		NodeIP:     envOr("E2E_NODE_IP", "10.244.0.1"),
	}
	missing := ""
	for _, f := range []string{c.Kubectl, c.Kubeconfig} {
		if _, err := os.Stat(f); err != nil {
			missing = f
		}
	}
	if missing == "" {
		if _, err := c.Run(t, 10*time.Second, "get", "--raw", "/readyz"); err != nil {
			missing = "a ready apiserver (" + err.Error() + ")"
		}
	}
	if missing != "" {
		if os.Getenv("E2E_REQUIRE_CLUSTER") == "1" {
			t.Fatalf("e2e cluster not up: no %s; hack/cluster-up.sh failed? see build/e2e/logs", missing)
		}
		t.Skipf("skipped: no e2e cluster (missing %s); start one with `make e2e-cluster`", missing)
	}
	return c
}

// Run runs kubectl against the cluster with a deadline; the error carries stderr.
func (c *Cluster) Run(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return c.RunIn(t, timeout, "", args...)
}

// RunIn is Run with stdin.
func (c *Cluster) RunIn(t *testing.T, timeout time.Duration, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("kubectl %s: timed out after %v", strings.Join(args, " "), timeout)
	} else if err != nil {
		err = fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), err
}

// Must is Run that fails the test on error.
func (c *Cluster) Must(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := c.Run(t, timeout, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Apply applies a manifest from a string.
func (c *Cluster) Apply(t *testing.T, manifest string) {
	t.Helper()
	if _, err := c.RunIn(t, 30*time.Second, manifest, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// Namespace creates a fresh namespace, deleted (without waiting) when the test ends.
func (c *Cluster) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1000000)
	c.Must(t, 30*time.Second, "create", "namespace", ns)
	t.Cleanup(func() {
		if _, err := c.Run(t, 30*time.Second, "delete", "namespace", ns, "--wait=false"); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	// Pods are refused until the controller-manager has made the default service account.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := c.Run(t, 10*time.Second, "get", "serviceaccount", "default", "-n", ns); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("namespace %s: no default service account: %v", ns, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return ns
}

// The agent's Helm release, as TestAgent and TestWriteRate install it.
const (
	AgentRelease   = "wattlet"
	AgentNamespace = "wattlet-system"
)

// HelmRun runs the cluster's helm with a deadline; output is stdout and stderr together.
func (c *Cluster) HelmRun(timeout time.Duration, args ...string) (string, error) {
	return runCmd(timeout, c.Helm, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// InstallAgent installs the chart (helm/wattlet) as AgentRelease in AgentNamespace on
// the simulated RAPL meter with the locally imported image, plus the given `--set`s
// ("key=value"), and waits for the DaemonSet and the CRDs. A release a previous run
// left goes first; the release is uninstalled (waiting) when the test ends. The chart's
// defaults hold otherwise (podSource apiserver).
func (c *Cluster) InstallAgent(t *testing.T, sets ...string) {
	t.Helper()
	c.installAgent(t, true, sets...)
}

// InstallAgentNoMeter is InstallAgent without the simulated meter: the chart as a user
// installs it on a node without RAPL (these machines have none).
func (c *Cluster) InstallAgentNoMeter(t *testing.T, sets ...string) {
	t.Helper()
	c.installAgent(t, false, sets...)
}

func (c *Cluster) installAgent(t *testing.T, sim bool, sets ...string) {
	t.Helper()
	c.HelmRun(2*time.Minute, "uninstall", AgentRelease, "-n", AgentNamespace, "--wait")
	args := []string{"install", AgentRelease, filepath.Join(c.Root, "helm", "wattlet"),
		"-n", AgentNamespace, "--create-namespace",
		"--set", fmt.Sprintf("simulatedRapl.enabled=%v", sim), "--set", "image.pullPolicy=Never"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	args = append(args, "--wait", "--timeout", "3m")
	c.helmInstall(t, AgentRelease, AgentNamespace, args)
	t.Cleanup(func() {
		if out, err := c.HelmRun(2*time.Minute, "uninstall", AgentRelease, "-n", AgentNamespace, "--wait"); err != nil {
			t.Logf("cleanup: helm uninstall: %v %s", err, out)
		}
	})
	for _, crd := range []string{"podenergies", "nodeenergies", "powermodels", "energypolicies", "nodeclassidles"} {
		c.Must(t, 60*time.Second, "wait", "--for=condition=Established", "crd/"+crd+".wattlet.dev", "--timeout=50s")
	}
}

// AgentURL is the base URL of the agent's HTTP server (the agent pod's IP, port 9102;
// the host reaches pod IPs over the bridge). It waits for a Ready agent pod that is not
// being deleted: right after a reinstall the previous release's pod may still be
// terminating, without an IP.
func (c *Cluster) AgentURL(t *testing.T) string {
	t.Helper()
	ip := c.ReadyPodIP(t, "a Ready agent pod with an IP", AgentNamespace,
		"app.kubernetes.io/name=wattlet", nil)
	return "http://" + ip + ":9102"
}

// helmInstall runs helm with args (installing release rel, a DaemonSet of the same name, in
// ns; 4 minutes at most) and, when that fails, ends the test with the agent's log and the
// pods' description.
func (c *Cluster) helmInstall(t *testing.T, rel, ns string, args []string) {
	t.Helper()
	if out, err := c.HelmRun(4*time.Minute, args...); err != nil {
		logs, _ := c.Run(t, 20*time.Second, "logs", "-n", ns, "ds/"+rel, "--all-containers", "--tail=60")
		desc, _ := c.Run(t, 20*time.Second, "describe", "pods", "-n", ns)
		t.Fatalf("helm install: %v\n%s\nlogs:\n%s\n%s", err, out, logs, desc)
	}
}

// ReadyPodIP waits (90 s, Eventually with what and diag) for a pod in ns matching the label
// selector that is Ready, has an IP and is not being deleted, and returns that IP.
func (c *Cluster) ReadyPodIP(t *testing.T, what, ns, selector string, diag func() string) string {
	t.Helper()
	ip := ""
	Eventually(t, 90*time.Second, time.Second, what, func() (bool, string) {
		out, err := c.Run(t, 20*time.Second, "get", "pods", "-n", ns, "-l", selector,
			"-o", `jsonpath={range .items[*]}{.metadata.deletionTimestamp}{"|"}{.status.podIP}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(line, "|")
			if len(f) == 3 && f[0] == "" && f[1] != "" && f[2] == "True" {
				ip = f[1]
				return true, ""
			}
		}
		return false, "pods (deletion|ip|ready): " + out
	}, diag)
	return ip
}

// Eventually polls cond every `every` until it holds, or fails the test after d with
// cond's last message and, when onFail is set, what it adds (e.g. the pods' state).
// Polling stands in for no synchronisation: each round asks the cluster again.
func Eventually(t *testing.T, d, every time.Duration, what string, cond func() (bool, string),
	onFail func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(every)
	}
	extra := ""
	if onFail != nil {
		extra = "\n" + onFail()
	}
	t.Fatalf("%s: not within %v: %s%s", what, d, last, extra)
}
