package e2e

// kubeletauthz_test.go - issue 14 live: the chart's kubelet pod source with fine-grained
// kubelet authorization (kubelet.authorization: nodes/pods, KubeletFineGrainedAuthz, beta
// and on by default from Kubernetes 1.33). The kubelet itself serves /pods to a token that
// may only `get nodes/pods` and refuses it everything nodes/proxy guards; the agent's
// account holds nodes/pods but not nodes/proxy (nor a pod watch), and the agent still maps a
// new pod through the kubelet to its PodEnergy.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serverMinor is the API server's minor version (kubectl version -o json).
func serverMinor(t *testing.T, c *Cluster) int {
	t.Helper()
	var v struct {
		ServerVersion struct {
			Minor string `json:"minor"`
		} `json:"serverVersion"`
	}
	out := c.Must(t, 20*time.Second, "version", "-o", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("kubectl version -o json: %v\n%s", err, out)
	}
	m, err := strconv.Atoi(strings.TrimRight(v.ServerVersion.Minor, "+"))
	if err != nil {
		t.Fatalf("server minor version %q: %v", v.ServerVersion.Minor, err)
	}
	return m
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

func TestKubeletPodsAuthz(t *testing.T) {
	c := NeedCluster(t)
	if m := serverMinor(t, c); m < 33 {
		t.Skipf("SKIP: Kubernetes 1.%d: kubelets before 1.33 have no fine-grained authorization "+
			"on by default (KubeletFineGrainedAuthz), so nothing can honour nodes/pods here", m)
	}
	ns := c.Namespace(t, "kubeletauthz")
	// startPod runs a stress pod in ns and returns its uid once it is Ready.
	startPod := func(t *testing.T, name string) string {
		t.Helper()
		c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: wattlet-e2e/stress:1
    imagePullPolicy: Never
    args: ["--cpu", "1", "--cpu-load", "30", "--timeout", "900s"]
    resources: {requests: {cpu: 100m, memory: 16Mi}}
`, name, ns))
		if _, err := c.Run(t, 150*time.Second, "wait", "-n", ns, "--for=condition=Ready", "pod/"+name, "--timeout=140s"); err != nil {
			t.Fatalf("pod %s not Ready: %v", name, err)
		}
		return c.Must(t, 20*time.Second, "get", "pod", "-n", ns, name, "-o", "jsonpath={.metadata.uid}")
	}
	uid := startPod(t, "busy")

	// The kubelet's own decision, without the agent: a token whose only kubelet permission
	// is `get nodes/pods`.
	t.Run("kubelet-honours-nodes-pods", func(t *testing.T) {
		c.Must(t, 20*time.Second, "create", "serviceaccount", "podsonly", "-n", ns)
		token := strings.TrimSpace(c.Must(t, 20*time.Second, "create", "token", "podsonly", "-n", ns, "--duration=10m"))
		get := kubeletGetter(t, c, token)
		if code, body := get("/pods"); code != http.StatusForbidden {
			t.Fatalf("kubelet /pods before any binding: HTTP %d, want 403: %.200s", code, body)
		}
		role := "kubeletauthz-nodes-pods-" + ns
		c.Apply(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s}
rules:
- apiGroups: [""]
  resources: [nodes/pods]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
subjects:
- {kind: ServiceAccount, name: podsonly, namespace: %[2]s}
`, role, ns))
		t.Cleanup(func() {
			_, _ = c.Run(t, 20*time.Second, "delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
		})
		// The kubelet caches the earlier denial (cacheUnauthorizedTTL 10 s): poll.
		Eventually(t, 40*time.Second, 2*time.Second, "kubelet /pods with nodes/pods only", func() (bool, string) {
			code, body := get("/pods")
			if code != http.StatusOK {
				return false, fmt.Sprintf("HTTP %d: %.200s", code, body)
			}
			if !strings.Contains(body, `"uid":"`+uid+`"`) {
				t.Fatalf("kubelet /pods lacks pod %s/busy (uid %s): %.300s", ns, uid, body)
			}
			return true, ""
		}, nil)
		// Everything else stays behind nodes/proxy (or its own fine-grained subresource):
		// configuration, logs, exec (a WebSocket exec starts with this GET).
		for _, p := range []string{"/configz", "/containerLogs/" + ns + "/busy/main",
			"/exec/" + ns + "/busy/main?command=true&output=1", "/runningpods/"} {
			code, body := get(p)
			want := http.StatusForbidden
			if p == "/runningpods/" {
				want = http.StatusOK // guarded by nodes/pods too (KEP-2862)
			}
			if code != want {
				t.Errorf("kubelet %s with nodes/pods only: HTTP %d, want %d: %.200s", p, code, want, body)
			} else {
				t.Logf("kubelet %s with nodes/pods only: HTTP %d %.120s", p, code, strings.TrimSpace(body))
			}
		}
	})

	c.InstallAgent(t, "podSource=kubelet", "kubelet.authorization=nodes/pods", "config.tick=1s",
		"config.kubernetes.podenergy_interval=10s")

	t.Run("rbac-nodes-pods-only", func(t *testing.T) {
		sa := "system:serviceaccount:" + AgentNamespace + ":" + AgentRelease
		for _, ch := range []struct {
			args []string
			want string
		}{
			{[]string{"get", "nodes", "--subresource=pods"}, "yes"},
			{[]string{"get", "nodes", "--subresource=proxy"}, "no"},
			{[]string{"create", "nodes", "--subresource=proxy"}, "no"},
			{[]string{"watch", "pods", "-A"}, "no"},
			{[]string{"list", "pods", "-A"}, "no"},
		} {
			out, _ := c.Run(t, 20*time.Second, append([]string{"auth", "can-i", "--as", sa}, ch.args...)...)
			if strings.TrimSpace(out) != ch.want {
				t.Errorf("can-i %s as the agent: %q, want %s", strings.Join(ch.args, " "), strings.TrimSpace(out), ch.want)
			}
		}
	})

	agentLog := func() string {
		logs, _ := c.Run(t, 20*time.Second, "logs", "-n", AgentNamespace, "ds/"+AgentRelease)
		return logs
	}
	type podEnergyObj struct {
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			PodName  string `json:"podName"`
			PodUID   string `json:"podUID"`
			NodeName string `json:"nodeName"`
		} `json:"spec"`
		Status struct {
			Joules float64 `json:"joules"`
		} `json:"status"`
	}
	// mapped waits for the PodEnergy of pod name (uid) with joules > 0 and checks its names.
	mapped := func(t *testing.T, name, uid string) {
		t.Helper()
		t1 := time.Now()
		var pe podEnergyObj
		Eventually(t, 120*time.Second, time.Second, "PodEnergy "+name+" from the kubelet's /pods", func() (bool, string) {
			out, err := c.Run(t, 20*time.Second, "get", "podenergy", "-n", ns, name, "-o", "json")
			if err != nil {
				return false, err.Error()
			}
			if err := json.Unmarshal([]byte(out), &pe); err != nil {
				return false, err.Error()
			}
			return pe.Spec.PodUID == uid && pe.Status.Joules > 0,
				fmt.Sprintf("podUID %q (want %s), joules %.3f", pe.Spec.PodUID, uid, pe.Status.Joules)
		}, func() string { return "agent log:\n" + agentLog() })
		t.Logf("PodEnergy %s/%s (podName %s, node %s, %.1f J) after %.1f s",
			pe.Metadata.Namespace, pe.Metadata.Name, pe.Spec.PodName, pe.Spec.NodeName, pe.Status.Joules,
			time.Since(t1).Seconds())
		if pe.Metadata.Namespace != ns || pe.Spec.PodName != name || pe.Spec.NodeName != c.Node {
			t.Errorf("PodEnergy names %s/%s podName %q node %q, want %s/%s on %s",
				pe.Metadata.Namespace, pe.Metadata.Name, pe.Spec.PodName, pe.Spec.NodeName, ns, name, c.Node)
		}
	}
	t.Run("pods-mapped-through-kubelet", func(t *testing.T) {
		// one pod the agent found at its start, one started after it (a container id it
		// does not know yet: the kubelet's /pods is read again)
		mapped(t, "busy", uid)
		mapped(t, "late", startPod(t, "late"))
		logs := agentLog()
		if !strings.Contains(logs, "pods from the kubelet") {
			t.Errorf("the agent does not say it reads pods from the kubelet:\n%s", logs)
		}
		if l := lineWith(logs, "reading pods failed"); l != "" {
			t.Errorf("the agent failed to read the kubelet's /pods: %s", l)
		}
	})
}
