package e2e

// kubeletauthz_test.go - issue 14 live: the chart's kubelet pod source with fine-grained
// kubelet authorization (kubelet.authorization: nodes/pods, KubeletFineGrainedAuthz, beta
// and on by default from Kubernetes 1.33). The kubelet itself serves /pods to a token that
// may only `get nodes/pods` and refuses it everything nodes/proxy guards; the agent's
// account holds nodes/pods but not nodes/proxy (nor a pod watch), and the agent still maps a
// new pod through the kubelet to its PodEnergy.

import (
	"encoding/json"
	"fmt"
	"net/http"
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
		return c.StartPod(t, onePod{Name: name, NS: ns,
			Args:      `["--cpu", "1", "--cpu-load", "30", "--timeout", "900s"]`,
			Resources: "{requests: {cpu: 100m, memory: 16Mi}}"})
	}
	uid := startPod(t, "busy")

	// The kubelet's own decision, without the agent: a token whose only kubelet permission
	// is `get nodes/pods`.
	t.Run("kubelet-honours-nodes-pods", func(t *testing.T) {
		token := c.ServiceAccountToken(t, ns, "podsonly")
		get := kubeletGetter(t, c, token)
		if code, body := get("/pods"); code != http.StatusForbidden {
			t.Fatalf("kubelet /pods before any binding: HTTP %d, want 403: %.200s", code, body)
		}
		role := "kubeletauthz-nodes-pods-" + ns
		c.GrantGet(t, role, "nodes/pods", ns, "podsonly")
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
		c.CheckAgentCanI(t, []canI{
			{[]string{"get", "nodes", "--subresource=pods"}, "yes"},
			{[]string{"get", "nodes", "--subresource=proxy"}, "no"},
			{[]string{"create", "nodes", "--subresource=proxy"}, "no"},
			{[]string{"watch", "pods", "-A"}, "no"},
			{[]string{"list", "pods", "-A"}, "no"},
		})
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
			if _, err := c.GetJSON(t, &pe, "podenergy", "-n", ns, name); err != nil {
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
