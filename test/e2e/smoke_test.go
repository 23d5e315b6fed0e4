package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
	c.WaitPodReady(t, ns, "stress")
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
	get := kubeletGetter(t, c, c.ServiceAccountToken(t, ns, "reader"))
	if code, body := get("/pods"); code != http.StatusForbidden {
		t.Fatalf("kubelet /pods without nodes/proxy: HTTP %d, want 403: %.200s", code, body)
	}
	c.GrantGet(t, "smoke-nodes-proxy-"+ns, "nodes/proxy", ns, "reader")
	// The kubelet caches the earlier denial (cacheUnauthorizedTTL 10s).
	Eventually(t, 40*time.Second, 2*time.Second, "kubelet /pods with nodes/proxy", func() (bool, string) {
		code, body := get("/pods")
		if code != http.StatusOK {
			return false, fmt.Sprintf("HTTP %d: %.200s", code, body)
		}
		if !strings.Contains(body, `"namespace":"`+ns+`"`) || !strings.Contains(body, `"name":"stress"`) {
			t.Fatalf("kubelet /pods lacks pod %s/stress: %.300s", ns, body)
		}
		return true, ""
	}, nil)
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

// TestSmokeInPlaceResize: in-place pod resize (the pods/resize subresource,
// InPlacePodVerticalScaling, beta and on by default from Kubernetes 1.33) works on this node
// (cgroup v1, containerd 1.6): a CPU limit changed through the subresource reaches the running
// container's cgroup, without a restart; the same change as a plain pod patch is refused.
func TestSmokeInPlaceResize(t *testing.T) {
	c := NeedCluster(t)
	if m := serverMinor(t, c); m < 33 {
		t.Skipf("SKIP: Kubernetes 1.%d: in-place resize through pods/resize is on by default from 1.33", m)
	}
	ns := c.Namespace(t, "resize")
	uid := c.StartPod(t, onePod{Name: "busy", NS: ns,
		Args:      `["--cpu", "1", "--cpu-load", "10", "--timeout", "600s"]`,
		Resources: "{requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}",
		Extra:     "    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]\n"})
	cid := c.Must(t, 20*time.Second, "get", "-n", ns, "pod/busy", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	cg := filepath.Join("/sys/fs/cgroup/cpu/kubepods/burstable", "pod"+uid, strings.TrimPrefix(cid, "containerd://"))
	quota := func() (int64, int64) {
		read := func(f string) int64 {
			b, err := os.ReadFile(filepath.Join(cg, f))
			if err != nil {
				t.Fatalf("container cgroup: %v", err)
			}
			v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				t.Fatalf("%s/%s: %v", cg, f, err)
			}
			return v
		}
		return read("cpu.cfs_quota_us"), read("cpu.cfs_period_us")
	}
	if q, p := quota(); q*1000 != 200*p {
		t.Fatalf("cpu.cfs_quota_us %d (period %d) before the resize, want 200m", q, p)
	}
	patch := `{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"300m"}}}]}}`
	// (strategic merge patches: containers merge by name, the memory values stay)
	if out, err := c.Run(t, 20*time.Second, "patch", "-n", ns, "pod/busy", "-p", patch); err == nil ||
		!strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("a plain pod patch of the resources: err %v, want Forbidden (pods/resize only): %s", err, out)
	}
	t0 := time.Now()
	c.Must(t, 20*time.Second, "patch", "-n", ns, "pod/busy", "--subresource", "resize", "-p", patch)
	Eventually(t, 60*time.Second, 500*time.Millisecond, "CPU limit 300m in the cgroup and the pod status", func() (bool, string) {
		q, p := quota()
		st := c.Must(t, 20*time.Second, "get", "-n", ns, "pod/busy", "-o",
			`jsonpath={.status.containerStatuses[0].resources.limits.cpu} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].containerID}`)
		f := strings.Fields(st)
		if len(f) == 3 && f[2] != cid {
			t.Fatalf("container replaced by the resize: %s -> %s", cid, f[2])
		}
		return q*1000 == 300*p && len(f) == 3 && f[0] == "300m" && f[1] == "0",
			fmt.Sprintf("cfs_quota_us %d period %d; status limit, restarts, id: %q", q, p, st)
	}, func() string {
		out, _ := c.Run(t, 20*time.Second, "get", "-n", ns, "pod/busy", "-o", "yaml")
		return out
	})
	t.Logf("resize 200m -> 300m applied in %.1f s", time.Since(t0).Seconds())
}
