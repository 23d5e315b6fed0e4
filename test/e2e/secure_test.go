package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The secure-metrics release: its own name, namespace and checkpoint directory, so it can
// sit next to AgentRelease without sharing anything but the CRDs.
const (
	SecureRelease   = "wattlet-secure"
	SecureNamespace = "wattlet-secure"
)

// TestSecureMetrics installs the chart with secureMetrics.enabled=true (TLS with the
// chart-generated CA, bearer tokens checked by the agent with TokenReview and
// SubjectAccessReview against this real API server) and checks: no token 401, a token
// without the non-resource permission 403, a garbage token 401, the reader's token 200
// (for /metrics and /api/v1/workloads), /healthz open, plain HTTP refused, the kubelet's
// HTTPS probes passing, and a real Prometheus scraping with its token over verified TLS
// while the same target without a token is down with 401.
func TestSecureMetrics(t *testing.T) {
	c := NeedCluster(t)
	rel, ns := SecureRelease, SecureNamespace
	c.HelmRun(2*time.Minute, "uninstall", rel, "-n", ns, "--wait")
	c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: scraper, namespace: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: stranger, namespace: %[1]s}
`, ns))
	args := []string{"install", rel, filepath.Join(c.Root, "helm", "wattlet"), "-n", ns,
		"--set", "simulatedRapl.enabled=true", "--set", "image.pullPolicy=Never",
		"--set", "checkpointDir=/var/lib/wattlet-secure",
		"--set", "secureMetrics.enabled=true",
		"--set", "secureMetrics.readers[0].kind=ServiceAccount",
		"--set", "secureMetrics.readers[0].name=scraper",
		"--wait", "--timeout", "3m"}
	c.helmInstall(t, rel, ns, args)
	t.Cleanup(func() {
		if out, err := c.HelmRun(2*time.Minute, "uninstall", rel, "-n", ns, "--wait"); err != nil {
			t.Logf("cleanup: helm uninstall: %v %s", err, out)
		}
		c.Run(t, 60*time.Second, "delete", "namespace", ns, "--wait=false")
	})

	// The agent pod is Ready: the kubelet's readiness probe (HTTPS /readyz, no token) passed.
	ip := c.ReadyPodIP(t, "a Ready secure agent pod", ns, "app.kubernetes.io/instance="+rel, func() string {
		logs, _ := c.Run(t, 20*time.Second, "logs", "-n", ns, "ds/"+rel, "-c", "wattlet", "--tail=40")
		return "agent log:\n" + logs
	})
	svc := c.Must(t, 20*time.Second, "get", "svc", "-n", ns, "-l", "app.kubernetes.io/instance="+rel,
		"-o", "jsonpath={.items[0].metadata.name}")
	serverName := svc + "." + ns + ".svc"
	caB64 := c.Must(t, 20*time.Second, "get", "secret", "-n", ns, svc+"-tls", "-o", `jsonpath={.data.ca\.crt}`)
	caPEM, err := base64.StdEncoding.DecodeString(strings.TrimSpace(caB64))
	if err != nil {
		t.Fatalf("ca.crt: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("ca.crt is not PEM: %q", caPEM)
	}
	// Verified TLS: the chart's CA, the Service's DNS name (the pod IP is not in the cert).
	cl := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName},
	}}
	base := "https://" + ip + ":9102"
	token := func(sa string) string {
		return strings.TrimSpace(c.Must(t, 20*time.Second, "create", "token", "-n", ns, sa, "--duration=1h"))
	}
	scraperTok, strangerTok := token("scraper"), token("stranger")
	// get answers the status and body; a 503 (review could not be made) is retried, any
	// other status is the verdict.
	get := func(t *testing.T, path, tok string) (int, string, http.Header) {
		t.Helper()
		code, body := 0, ""
		var hdr http.Header
		Eventually(t, 30*time.Second, time.Second, "an answer other than 503 for "+path, func() (bool, string) {
			req, _ := http.NewRequest("GET", base+path, nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := cl.Do(req)
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			code, body, hdr = resp.StatusCode, string(b), resp.Header
			return code != 503, fmt.Sprintf("HTTP %d: %s", code, b)
		}, nil)
		return code, body, hdr
	}

	t.Run("rbac", func(t *testing.T) {
		agent := "system:serviceaccount:" + ns + ":" + svc
		for _, res := range []string{"tokenreviews.authentication.k8s.io", "subjectaccessreviews.authorization.k8s.io"} {
			out, _ := c.Run(t, 20*time.Second, "auth", "can-i", "create", res, "--as", agent)
			if strings.TrimSpace(out) != "yes" {
				t.Errorf("agent cannot create %s: %q", res, out)
			}
		}
		out, _ := c.Run(t, 20*time.Second, "auth", "can-i", "get", "/metrics", "--as", "system:serviceaccount:"+ns+":stranger")
		if strings.TrimSpace(out) != "no" {
			t.Errorf("stranger can get /metrics: %q", out)
		}
	})

	t.Run("verdicts", func(t *testing.T) {
		if code, body, hdr := get(t, "/metrics", ""); code != 401 || hdr.Get("Www-Authenticate") != "Bearer" {
			t.Errorf("no token: HTTP %d (WWW-Authenticate %q), want 401: %s", code, hdr.Get("Www-Authenticate"), body)
		}
		if code, body, _ := get(t, "/metrics", "not-a-token"); code != 401 {
			t.Errorf("garbage token: HTTP %d, want 401: %s", code, body)
		}
		if code, body, _ := get(t, "/metrics", strangerTok); code != 403 {
			t.Errorf("token without get /metrics: HTTP %d, want 403: %s", code, body)
		}
		code, body, _ := get(t, "/metrics", scraperTok)
		if code != 200 || !strings.Contains(body, "wattlet_node_watts") {
			t.Errorf("reader's token: HTTP %d, want 200 with wattlet_node_watts: %.300s", code, body)
		}
		if code, body, _ := get(t, "/api/v1/workloads", ""); code != 401 {
			t.Errorf("/api/v1/workloads without a token: HTTP %d, want 401: %s", code, body)
		}
		code, body, _ = get(t, "/api/v1/workloads", scraperTok)
		var js map[string]interface{}
		if code != 200 || json.Unmarshal([]byte(body), &js) != nil {
			t.Errorf("/api/v1/workloads with the reader's token: HTTP %d, want 200 JSON: %.300s", code, body)
		}
		if code, body, _ := get(t, "/healthz", ""); code != 200 {
			t.Errorf("/healthz without a token: HTTP %d, want 200: %s", code, body)
		}
		// plain HTTP on the TLS port gets no HTTP answer at all
		if b, err := httpGet("http://"+ip+":9102/metrics", 5*time.Second); err == nil {
			t.Errorf("plain HTTP answered: %.200s", b)
		}
		// an unverified client still gets no metrics without a token
		insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		if resp, err := insecure.Get(base + "/metrics"); err != nil || resp.StatusCode != 401 {
			t.Errorf("unauthenticated request: %v %v, want 401", err, resp)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		prom, err := exec.LookPath("prometheus")
		if err != nil {
			t.Skip("skipped: prometheus not installed")
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "ca.crt"), caPEM, 0o644)
		os.WriteFile(filepath.Join(dir, "token"), []byte(scraperTok), 0o600)
		target := ip + ":9102"
		tlsCfg := fmt.Sprintf("{ca_file: '%s', server_name: '%s'}", filepath.Join(dir, "ca.crt"), serverName)
		cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: secure
    scheme: https
    tls_config: %[1]s
    authorization: {credentials_file: '%[2]s'}
    static_configs: [{targets: ['%[3]s']}]
  - job_name: notoken
    scheme: https
    tls_config: %[1]s
    static_configs: [{targets: ['%[3]s']}]
`, tlsCfg, filepath.Join(dir, "token"), target)
		promURL := startPrometheus(t, prom, dir, cfg)
		query := func(q string) (float64, error) {
			return promQuery(promURL, q, time.Time{})
		}
		Eventually(t, 60*time.Second, 500*time.Millisecond, "Prometheus scrapes the secure agent with its token", func() (bool, string) {
			up, e1 := query(`up{job="secure"}`)
			n, e2 := query(`count(wattlet_node_watts{job="secure"})`)
			if e1 != nil || e2 != nil || up != 1 || n < 1 {
				return false, fmt.Sprintf("up %v (%v), node series %v (%v)", up, e1, n, e2)
			}
			t.Logf("PromQL: up{job=secure} = %v, %v wattlet_node_watts series", up, n)
			return true, ""
		}, func() string { b, _ := os.ReadFile(filepath.Join(dir, "prom.log")); return string(b) })
		Eventually(t, 60*time.Second, 500*time.Millisecond, "the same target without a token is down with 401", func() (bool, string) {
			body, err := httpGet(promURL+"/api/v1/targets?state=active", 5*time.Second)
			if err != nil {
				return false, err.Error()
			}
			var r struct {
				Data struct {
					ActiveTargets []struct {
						ScrapePool string `json:"scrapePool"`
						Health     string `json:"health"`
						LastError  string `json:"lastError"`
					} `json:"activeTargets"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				return false, err.Error()
			}
			for _, tg := range r.Data.ActiveTargets {
				if tg.ScrapePool == "notoken" && tg.Health == "down" && strings.Contains(tg.LastError, "401") {
					t.Logf("Prometheus without a token: %s", tg.LastError)
					return true, ""
				}
			}
			return false, string(body)
		}, nil)
	})
}

// TestHelmTemplateSecureMetrics renders the chart (offline) with and without
// secureMetrics: what the option adds (agent config, RBAC for the reviews, the scrapers'
// ClusterRole, HTTPS probes, the TLS Secret and its mount, the ServiceMonitor's https),
// that the default has none of it, and that bad values are refused by name.
func TestHelmTemplateSecureMetrics(t *testing.T) {
	helm := needHelm(t)
	def := string(helmTemplate(t, helm, "--set", "serviceMonitor.enabled=true"))
	sec := string(helmTemplate(t, helm, "--set", "secureMetrics.enabled=true", "--set", "serviceMonitor.enabled=true",
		"--set", "secureMetrics.readers[0].kind=ServiceAccount", "--set", "secureMetrics.readers[0].name=prom",
		"--set", "secureMetrics.readers[0].namespace=monitoring"))
	own := string(helmTemplate(t, helm, "--set", "secureMetrics.enabled=true", "--set", "secureMetrics.tls.secretName=mine"))
	checkDocs(t, []docCheck{
		{sec, "auth: kubernetes", true},
		{sec, "tls_cert_file: /var/run/wattlet/tls/tls.crt", true},
		{sec, "tls_key_file: /var/run/wattlet/tls/tls.key", true},
		{sec, "auth_cache_ttl: 2m", true},
		{sec, "name: system:auth-delegator", true},
		{sec, "nonResourceURLs: [/metrics, /api/v1/workloads, /ui, /ui/, /ui/ws]", true},
		{sec, "name: wattlet-metrics-reader", true},
		{sec, "name: prom\n    namespace: monitoring", true},
		{sec, "scheme: HTTPS", true},
		{sec, "type: kubernetes.io/tls", true},
		{sec, "ca.crt: ", true},
		{sec, "secretName: wattlet-tls", true},
		{sec, "defaultMode: 0400", true},
		{sec, "scheme: https", true},
		{sec, "serverName: wattlet." + testNS + ".svc", true},
		{sec, "bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token", true},
		{sec, "wattlet-test", false}, // helm test's client has no token
		{own, "secretName: mine", true},
		{own, "kind: Secret", false}, // the user's Secret, none generated
		{def, "auth: kubernetes", false},
		{def, "system:auth-delegator", false},
		{def, "nonResourceURLs", false},
		{def, "HTTPS", false},
		{def, "kind: Secret", false},
		{def, "scheme: https", false},
		{def, "wattlet-test", true},
	})
	for _, bad := range []struct{ set, names string }{
		{"secureMetrics.enabled=yes", "secureMetrics"},
		{"secureMetrics.cacheTTL=2 minutes", "cacheTTL"},
		{"secureMetrics.readers[0].kind=Robot", "kind"},
		{"secureMetrics.tls.validityDays=0", "validityDays"},
	} {
		out, err := run(t, nil, helm, "template", "x", "helm/wattlet", "--kube-version", "1.31.0", "--set", bad.set)
		if err == nil || !strings.Contains(out, bad.names) {
			t.Errorf("%s accepted or error does not name %s: %v\n%s", bad.set, bad.names, err, out)
		}
	}
}
