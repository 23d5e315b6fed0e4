package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke: the cluster is up and the node Ready; a pod of the locally built stress image
// runs as real processes in kubelet's cgroupfs cgroups; `kubectl logs` works (apiserver ->
// kubelet, verified TLS); the kubelet's /pods requires a token allowed nodes/proxy; deleting
// the pod removes it and its cgroup.
func TestSmoke(t *testing.T) {
	c := NeedCluster(t)

	ready := c.Must(t, 20*time.Second, "get", "node", c.Node, "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if ready != "True" {
		t.Fatalf("node %s Ready=%q, want True", c.Node, ready)
	}
	ip := c.Must(t, 20*time.Second, "get", "node", c.Node, "-o",
		`jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`)
	if ip != c.NodeIP {
		t.Fatalf("node InternalIP %q, want %q", ip, c.NodeIP)
	}

	ns := c.Namespace(t, "smoke")
	c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: stress, namespace: %s, labels: {app: smoke}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: stress
    image: wattlet-e2e/stress:1
    imagePullPolicy: Never
    args: ["--cpu", "1", "--cpu-load", "5", "--timeout", "600s", "--verbose"]
    resources:
      requests: {cpu: 50m, memory: 32Mi}
      limits: {memory: 256Mi}
`, ns))
	if _, err := c.Run(t, 150*time.Second, "wait", "-n", ns, "--for=condition=Ready", "pod/stress", "--timeout=140s"); err != nil {
		desc, _ := c.Run(t, 20*time.Second, "describe", "-n", ns, "pod/stress")
		t.Fatalf("pod not Ready: %v\n%s", err, desc)
	}
	phase := c.Must(t, 20*time.Second, "get", "-n", ns, "pod/stress", "-o", "jsonpath={.status.phase}")
	if phase != "Running" {
		t.Fatalf("phase %q, want Running", phase)
	}

	// Real processes in kubelet's cgroupfs layout: kubepods/burstable/pod<uid>/<container id>.
	uid := c.Must(t, 20*time.Second, "get", "-n", ns, "pod/stress", "-o", "jsonpath={.metadata.uid}")
	cid := c.Must(t, 20*time.Second, "get", "-n", ns, "pod/stress", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	if !strings.HasPrefix(cid, "containerd://") {
		t.Fatalf("containerID %q: want containerd://<id>", cid)
	}
	cg := filepath.Join("/sys/fs/cgroup/cpu/kubepods/burstable", "pod"+uid, strings.TrimPrefix(cid, "containerd://"))
	procs, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		t.Fatalf("container cgroup: %v", err)
	}
	if len(strings.Fields(string(procs))) == 0 {
		t.Fatalf("%s/cgroup.procs is empty", cg)
	}

	// kubectl logs: apiserver -> kubelet over TLS checked against our CA.
	var logs string
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, err = c.Run(t, 20*time.Second, "logs", "-n", ns, "pod/stress")
		if err == nil && strings.Contains(logs, "stress-ng") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubectl logs: err=%v, output %q lacks \"stress-ng\"", err, logs)
		}
		time.Sleep(time.Second)
	}

	checkKubeletPods(t, c, ns)

	c.Must(t, 90*time.Second, "delete", "-n", ns, "pod/stress", "--timeout=80s")
	if out, err := c.Run(t, 20*time.Second, "get", "-n", ns, "pod/stress"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("pod still there after delete: %q %v", out, err)
	}
	podCg := filepath.Dir(cg)
	deadline = time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(podCg); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod cgroup %s still exists 60s after delete", podCg)
		}
		time.Sleep(time.Second)
	}
}

// checkKubeletPods: GET https://<node>:10250/pods is refused for a service account without
// nodes/proxy and served once it has it (kubelet webhook authn + authz).
func checkKubeletPods(t *testing.T, c *Cluster, ns string) {
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
	c.Must(t, 20*time.Second, "create", "serviceaccount", "reader", "-n", ns)
	token := strings.TrimSpace(c.Must(t, 20*time.Second, "create", "token", "reader", "-n", ns, "--duration=10m"))
	get := func() (int, string) {
		req, err := http.NewRequest("GET", "https://"+c.NodeIP+":10250/pods", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("kubelet /pods: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusForbidden {
		t.Fatalf("kubelet /pods without nodes/proxy: HTTP %d, want 403: %.200s", code, body)
	}
	role := "smoke-nodes-proxy-" + ns
	c.Apply(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s}
rules:
- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
subjects:
- {kind: ServiceAccount, name: reader, namespace: %[2]s}
`, role, ns))
	t.Cleanup(func() {
		_, _ = c.Run(t, 20*time.Second, "delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
	})
	// The kubelet caches the earlier denial (cacheUnauthorizedTTL 10s).
	deadline := time.Now().Add(40 * time.Second)
	for {
		code, body := get()
		if code == http.StatusOK {
			if !strings.Contains(body, `"namespace":"`+ns+`"`) || !strings.Contains(body, `"name":"stress"`) {
				t.Fatalf("kubelet /pods lacks pod %s/stress: %.300s", ns, body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubelet /pods with nodes/proxy: HTTP %d: %.200s", code, body)
		}
		time.Sleep(2 * time.Second)
	}
}

// TestSmokePodReachesAPIServer: a pod reaches the apiserver through the `kubernetes` Service
// (KUBERNETES_SERVICE_HOST:PORT, kube-proxy's DNAT to the node's bridge address) and has its
// service-account token mounted - what the agent's in-cluster config needs.
func TestSmokePodReachesAPIServer(t *testing.T) {
	c := NeedCluster(t)
	ns := c.Namespace(t, "smoke-net")
	c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: %s}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: probe
    image: wattlet-e2e/tools:1
    imagePullPolicy: Never
    command: ["/bin/sh", "-c"]
    args:
    - test -s /var/run/secrets/kubernetes.io/serviceaccount/token &&
      test -s /var/run/secrets/kubernetes.io/serviceaccount/ca.crt &&
      nc -w 5 "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT" -e /bin/true &&
      echo "reached $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
`, ns))
	deadline := time.Now().Add(90 * time.Second)
	var phase string
	for {
		phase = c.Must(t, 20*time.Second, "get", "-n", ns, "pod/probe", "-o", "jsonpath={.status.phase}")
		if phase == "Succeeded" || phase == "Failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	logs, _ := c.Run(t, 20*time.Second, "logs", "-n", ns, "pod/probe")
	if phase != "Succeeded" {
		desc, _ := c.Run(t, 20*time.Second, "describe", "-n", ns, "pod/probe")
		t.Fatalf("probe pod phase %q, logs %q\n%s", phase, logs, desc)
	}
	if !strings.Contains(logs, "reached ") {
		t.Fatalf("probe logs %q", logs)
	}
	t.Logf("probe: %s", strings.TrimSpace(logs))
}
