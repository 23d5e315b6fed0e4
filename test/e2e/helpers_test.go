package e2e

// helpers_test.go - checks and set-ups several suites share: rendered-chart checks, the
// agent's RBAC answers, one-container pods, a service account's token, kubelet access.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// docCheck: the rendered document doc contains what (want true) or does not (want false).
type docCheck struct {
	doc, what string
	want      bool
}

// checkDocs reports every check whose text is present when it should not be, or absent
// when it should be there.
func checkDocs(t *testing.T, checks []docCheck) {
	t.Helper()
	for _, c := range checks {
		if got := strings.Contains(c.doc, c.what); got != c.want {
			t.Errorf("rendered chart contains %q = %v, want %v", c.what, got, c.want)
		}
	}
}

// canI is one `kubectl auth can-i` question (its arguments) and the answer wanted.
type canI struct {
	args []string
	want string // "yes" or "no"
}

// CheckAgentCanI asks each question as the agent's service account and reports every
// answer (its first word: kubectl may add " - <reason>") other than the one wanted.
func (c *Cluster) CheckAgentCanI(t *testing.T, checks []canI) {
	t.Helper()
	sa := "system:serviceaccount:" + AgentNamespace + ":" + AgentRelease
	for _, q := range checks {
		out, _ := c.Run(t, 20*time.Second, append([]string{"auth", "can-i", "--as", sa}, q.args...)...)
		got := strings.TrimSpace(out)
		if f := strings.Fields(got); len(f) == 0 || f[0] != q.want {
			t.Errorf("can-i %s as the agent: %q, want %s", strings.Join(q.args, " "), got, q.want)
		}
	}
}

// onePod is a Pod with one container "main" whose image is never pulled, deleted with a
// 1 s grace period.
type onePod struct {
	Name, NS  string
	App       string // the label app; no labels when empty
	Image     string // wattlet-e2e/stress:1 when empty
	Args      string // a YAML flow list
	Resources string // a YAML flow map
	Extra     string // further container fields, YAML lines indented by four spaces
}

// Manifest is the pod's YAML.
func (p onePod) Manifest() string {
	labels := ""
	if p.App != "" {
		labels = ", labels: {app: " + p.App + "}"
	}
	image := p.Image
	if image == "" {
		image = "wattlet-e2e/stress:1"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s%s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    args: %s
    resources: %s
%s`, p.Name, p.NS, labels, image, p.Args, p.Resources, p.Extra)
}

// appsWorkload is the manifest of an apps/v1 Deployment or StatefulSet (kind; a
// StatefulSet's serviceName is its name) name in ns: replicas pods labelled app: name,
// deleted with a 1 s grace period, whose pod spec goes on with podSpec (YAML as at the pod
// spec's top level: containers, nodeSelector, ...; one leading newline is dropped).
func appsWorkload(kind, name, ns string, replicas int, podSpec string) string {
	service := ""
	if kind == "StatefulSet" {
		service = "\n  serviceName: " + name
	}
	var spec strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimPrefix(podSpec, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			spec.WriteString("      ")
		}
		spec.WriteString(l)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: %[1]s
metadata: {name: %[2]s, namespace: %[3]s}
spec:
  replicas: %[4]d%[5]s
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      terminationGracePeriodSeconds: 1
%[6]s`, kind, name, ns, replicas, service, spec.String())
}

// WaitPodReady waits (140 s at most) for pod name in ns to be Ready, or ends the test with
// the pod's description.
func (c *Cluster) WaitPodReady(t *testing.T, ns, name string) {
	t.Helper()
	if _, err := c.Run(t, 150*time.Second, "wait", "-n", ns, "--for=condition=Ready", "pod/"+name, "--timeout=140s"); err != nil {
		desc, _ := c.Run(t, 20*time.Second, "describe", "-n", ns, "pod/"+name)
		t.Fatalf("pod %s not Ready: %v\n%s", name, err, desc)
	}
}

// StartPod applies the pod, waits for it to be Ready and returns its uid.
func (c *Cluster) StartPod(t *testing.T, p onePod) string {
	t.Helper()
	c.Apply(t, p.Manifest())
	c.WaitPodReady(t, p.NS, p.Name)
	return c.Must(t, 20*time.Second, "get", "pod", "-n", p.NS, p.Name, "-o", "jsonpath={.metadata.uid}")
}

// ServiceAccountToken creates service account sa in ns and returns a 10-minute token of it.
func (c *Cluster) ServiceAccountToken(t *testing.T, ns, sa string) string {
	t.Helper()
	c.Must(t, 20*time.Second, "create", "serviceaccount", sa, "-n", ns)
	return strings.TrimSpace(c.Must(t, 20*time.Second, "create", "token", sa, "-n", ns, "--duration=10m"))
}

// GrantGet makes a ClusterRole role allowing `get` on the core resource (nodes/proxy,
// nodes/pods, ...) and binds it to service account sa in ns; both go when the test ends.
func (c *Cluster) GrantGet(t *testing.T, role, resource, ns, sa string) {
	t.Helper()
	c.Apply(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s}
rules:
- apiGroups: [""]
  resources: [%[2]s]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
subjects:
- {kind: ServiceAccount, name: %[4]s, namespace: %[3]s}
`, role, resource, ns, sa))
	t.Cleanup(func() {
		_, _ = c.Run(t, 20*time.Second, "delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
	})
}

// GetJSON runs `kubectl get args... -o json` and decodes the answer into v; it returns the
// answer as well (for messages).
func (c *Cluster) GetJSON(t *testing.T, v any, args ...string) (string, error) {
	t.Helper()
	out, err := c.Run(t, 20*time.Second, append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal([]byte(out), v)
}

// kubeletGetter returns a function that GETs a path on the node's kubelet
// (https://<node IP>:10250, certificate verified against the cluster CA) with a bearer
// token, answering the status code and the body.
func kubeletGetter(t *testing.T, c *Cluster, token string) func(path string) (int, string) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(c.PKI, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ca.crt: no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return func(path string) (int, string) {
		req, err := http.NewRequest("GET", "https://"+c.NodeIP+":10250"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("kubelet %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		return resp.StatusCode, string(b)
	}
}
