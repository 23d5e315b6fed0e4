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
