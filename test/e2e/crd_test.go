// crd_test.go - the wattlet.dev CRDs, the Helm chart and the k8s/ manifests.
//
// Offline tests (always run): chart crds/ identical to crds/, short names clash with no
// built-in resource of Kubernetes 1.31, every CRD is in the `energy` category,
// `helm lint` and the committed k8s/wattlet.yaml matches `helm template` (these two skip
// when no helm binary is found).
//
// Cluster tests (need KUBECONFIG, else skipped with a message): apply the CRDs and wait
// for Established, `helm template | kubectl apply --dry-run=server` passes, every file in
// k8s/examples/bad is rejected with a message naming its field (the `# expect:` lines),
// the good examples are accepted, `kubectl get energy` lists all four kinds, short names
// and printer columns work, the live API server's short names do not clash, and the
// chart's RBAC grants what the agent needs and nothing it must not have.
//
// Tools: $KUBECTL / $HELM, else build/e2e/bin, build/tools/bin, then $PATH.
// Uses only the standard library, so it builds in any module (or GO111MODULE=off).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Short names of the built-in resources of Kubernetes 1.31 (every group served by a
// default kube-apiserver, from api/discovery/*.json in kubernetes/kubernetes). Groups
// with no short names at all (admissionregistration, coordination, discovery,
// flowcontrol, node, rbac, resource, storagemigration, apiregistration, ...) add none.
var builtinShortNames = map[string]string{
	"cs": "componentstatuses", "cm": "configmaps", "ep": "endpoints", "ev": "events",
	"limits": "limitranges", "ns": "namespaces", "no": "nodes",
	"pvc": "persistentvolumeclaims", "pv": "persistentvolumes", "po": "pods",
	"rc": "replicationcontrollers", "quota": "resourcequotas", "sa": "serviceaccounts",
	"svc": "services", "ds": "daemonsets", "deploy": "deployments", "rs": "replicasets",
	"sts": "statefulsets", "hpa": "horizontalpodautoscalers", "cj": "cronjobs",
	"csr": "certificatesigningrequests", "ing": "ingresses", "netpol": "networkpolicies",
	"pdb": "poddisruptionbudgets", "pc": "priorityclasses", "sc": "storageclasses",
	"crd": "customresourcedefinitions", "crds": "customresourcedefinitions",
}

// What docs/api.md promises.
var wantCRDs = map[string]struct {
	kind, plural, scope, short string
}{
	"powermodels.wattlet.dev":    {"PowerModel", "powermodels", "Cluster", "pwm"},
	"energypolicies.wattlet.dev": {"EnergyPolicy", "energypolicies", "Namespaced", "enp"},
	"podenergies.wattlet.dev":    {"PodEnergy", "podenergies", "Namespaced", "pe"},
	"nodeenergies.wattlet.dev":   {"NodeEnergy", "nodeenergies", "Cluster", "ne"},
	"nodeclassidles.wattlet.dev": {"NodeClassIdle", "nodeclassidles", "Cluster", "nci"},
}

const testNS = "wattlet-crdtest"

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "crds")); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(d, "helm", "wattlet", "Chart.yaml")); err == nil {
				return d
			}
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no repository root (crds/ and helm/wattlet/) above %s", dir)
		}
	}
}

// tool finds a binary: $ENV, build/e2e/bin, build/tools/bin, $PATH. "" if none.
func tool(t *testing.T, name, env string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	root := repoRoot(t)
	for _, d := range []string{"build/e2e/bin", "build/tools/bin"} {
		p := filepath.Join(root, d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

func needHelm(t *testing.T) string {
	t.Helper()
	h := tool(t, "helm", "HELM")
	if h == "" {
		t.Skip("SKIP: no helm binary ($HELM, build/e2e/bin, build/tools/bin or $PATH); " +
			"build one with: GOBIN=$PWD/build/tools/bin go install helm.sh/helm/v3/cmd/helm@v3.16.4")
	}
	return h
}

// needCluster skips unless KUBECONFIG names a reachable cluster, and returns kubectl.
func needCluster(t *testing.T) string {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Skip("SKIP: KUBECONFIG is not set; these tests need a running cluster " +
			"(hack/cluster-up.sh starts one and prints the KUBECONFIG to use)")
	}
	k := tool(t, "kubectl", "KUBECTL")
	if k == "" {
		t.Fatal("KUBECONFIG is set but no kubectl ($KUBECTL, build/e2e/bin, $PATH)")
	}
	if out, err := run(t, nil, k, "get", "--raw", "/readyz"); err != nil {
		t.Fatalf("cluster in KUBECONFIG=%s is not ready: %v\n%s", os.Getenv("KUBECONFIG"), err, out)
	}
	return k
}

// exec1 runs a command (60 s cap) with stdin; stdout and stderr apart.
func exec1(t *testing.T, stdin []byte, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot(t)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// run returns stdout+stderr: for checking what a refusal says.
func run(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	out, errs, err := exec1(t, stdin, name, args...)
	return out + errs, err
}

// mustRun returns stdout only (helm and kubectl print warnings on stderr).
func mustRun(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	out, errs, err := exec1(t, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, errs)
	}
	return out
}

func crdFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wattlet.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// yamlField finds "key: value" at any indent (the CRD files are hand-written, one
// key per line; flow lists like [a, b] are split).
func yamlField(text, key string) []string {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `:\s*(.+?)\s*$`)
	var vals []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		v := strings.Trim(m[1], "[]")
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				vals = append(vals, p)
			}
		}
	}
	return vals
}

func TestChartCRDsIdenticalToTopLevel(t *testing.T) {
	root := repoRoot(t)
	top := crdFiles(t, filepath.Join(root, "crds"))
	chart := crdFiles(t, filepath.Join(root, "helm", "wattlet", "crds"))
	if len(top) != len(wantCRDs) {
		t.Fatalf("crds/ has %d CRD files, want %d", len(top), len(wantCRDs))
	}
	if len(chart) != len(top) {
		t.Fatalf("helm/wattlet/crds has %d files, crds/ has %d", len(chart), len(top))
	}
	for i := range top {
		a, err := os.ReadFile(top[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(chart[i])
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(top[i]) != filepath.Base(chart[i]) || !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ: run cp crds/*.yaml helm/wattlet/crds/", top[i], chart[i])
		}
	}
}

func TestCRDNamesShortNamesCategories(t *testing.T) {
	root := repoRoot(t)
	seen := map[string]string{}
	for _, f := range crdFiles(t, filepath.Join(root, "crds")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		want, ok := wantCRDs[name]
		if !ok {
			t.Errorf("%s: not a CRD docs/api.md defines", f)
			continue
		}
		if got := yamlField(text, "name"); len(got) == 0 || got[0] != name {
			t.Errorf("%s: metadata.name %v, want %s", f, got, name)
		}
		for key, v := range map[string]string{"kind": want.kind, "plural": want.plural, "scope": want.scope} {
			found := false
			for _, g := range yamlField(text, key) {
				found = found || g == v
			}
			if !found {
				t.Errorf("%s: %s %q not found", f, key, v)
			}
		}
		if got := yamlField(text, "categories"); len(got) != 1 || got[0] != "energy" {
			t.Errorf("%s: categories %v, want [energy]", f, got)
		}
		shorts := yamlField(text, "shortNames")
		if len(shorts) != 1 || shorts[0] != want.short {
			t.Errorf("%s: shortNames %v, want [%s] (docs/api.md)", f, shorts, want.short)
		}
		for _, s := range shorts {
			if r, clash := builtinShortNames[s]; clash {
				t.Errorf("%s: short name %q is already the built-in %s", f, s, r)
			}
			if other, dup := seen[s]; dup {
				t.Errorf("%s: short name %q also used by %s", f, s, other)
			}
			seen[s] = name
		}
		if !strings.Contains(text, "status: {}") {
			t.Errorf("%s: no status subresource", f)
		}
	}
	if len(seen) != len(wantCRDs) {
		t.Errorf("found short names for %d CRDs, want %d", len(seen), len(wantCRDs))
	}
	// The check itself must be able to fail: "ep" is Endpoints.
	if _, clash := builtinShortNames["ep"]; !clash {
		t.Fatal("built-in short name table lost endpoints/ep")
	}
}

func helmTemplate(t *testing.T, helm string, extra ...string) []byte {
	t.Helper()
	// --kube-version: a helm built with plain `go install` thinks it talks to 1.20.
	args := append([]string{"template", "wattlet", "helm/wattlet", "--namespace", testNS,
		"--kube-version", "1.31.0"}, extra...)
	return []byte(mustRun(t, nil, helm, args...))
}

func TestHelmLint(t *testing.T) {
	helm := needHelm(t)
	out := mustRun(t, nil, helm, "lint", "--strict", "helm/wattlet")
	if !strings.Contains(out, "0 chart(s) failed") {
		t.Fatalf("helm lint:\n%s", out)
	}
	for _, set := range []string{"podSource=kubelet", "podSource=kubelet,kubelet.authorization=nodes/proxy",
		"networkPolicy.enabled=true", "securityContext.privileged=true",
		"simulatedRapl.enabled=true", "serviceMonitor.enabled=true"} {
		mustRun(t, nil, helm, "lint", "--strict", "helm/wattlet", "--set", set)
	}
	for _, bad := range []struct{ set, names string }{
		{"podSource=kubeletz", "podSource"},
		{"kubelet.authorization=nodes/*", "authorization"},
		{"networkPolicy.enabled=true,networkPolicy.from=null", "networkPolicy"},
		{"kubeletMode=true", "kubeletMode"}, // the old switch is gone, not silently ignored
	} {
		out, err := run(t, nil, helm, "template", "x", "helm/wattlet", "--kube-version", "1.31.0", "--set", bad.set)
		if err == nil || !strings.Contains(out, bad.names) {
			t.Errorf("%s accepted or error does not name %s: %v\n%s", bad.set, bad.names, err, out)
		}
	}
	// values.schema.json refuses a bad value, naming it.
	out, err := run(t, nil, helm, "template", "x", "helm/wattlet", "--kube-version", "1.31.0", "--set", "metricsPort=70000")
	if err == nil || !strings.Contains(out, "metricsPort") {
		t.Errorf("metricsPort=70000 accepted or error does not name it: %v\n%s", err, out)
	}
	out, err = run(t, nil, helm, "template", "x", "helm/wattlet", "--kube-version", "1.31.0", "--set", "kubeletMod=true")
	if err == nil || !strings.Contains(out, "kubeletMod") {
		t.Errorf("unknown value kubeletMod accepted or not named: %v\n%s", err, out)
	}
}

// The least-privilege rules and the knobs that change them.
func TestHelmTemplateRBACAndSecurity(t *testing.T) {
	helm := needHelm(t)
	def := string(helmTemplate(t, helm))
	api := def
	kubelet := string(helmTemplate(t, helm, "--set", "podSource=kubelet"))
	legacy := string(helmTemplate(t, helm, "--set", "podSource=kubelet", "--set", "kubelet.authorization=nodes/proxy"))
	netpol := string(helmTemplate(t, helm, "--set", "networkPolicy.enabled=true"))
	priv := string(helmTemplate(t, helm, "--set", "securityContext.privileged=true"))
	sim := string(helmTemplate(t, helm, "--set", "simulatedRapl.enabled=true"))
	checkDocs(t, []docCheck{
		// the default: a pod watch on the API server, no kubelet access at all
		{api, "resources: [pods]", true},
		{api, "resources: [nodes/proxy]", false},
		{api, "resources: [nodes/pods]", false},
		{api, "value: \"apiserver\"", true},
		// kubelet mode only when asked; fine-grained unless legacy is asked too
		{kubelet, "resources: [nodes/pods]", true},
		{kubelet, "resources: [nodes/proxy]", false},
		{kubelet, "resources: [pods]", false},
		{kubelet, "value: \"kubelet\"", true},
		{legacy, "resources: [nodes/proxy]", true},
		{legacy, "resources: [nodes/pods]", false},
		{def, "kind: NetworkPolicy", false},
		{netpol, "kind: NetworkPolicy", true},
		{netpol, "kubernetes.io/metadata.name: monitoring", true},
		{netpol, "app.kubernetes.io/name: wattlet-test", true},
		{netpol, "port: 9102", true},
		{kubelet, "hostPID: true", true},
		{kubelet, "add:\n                - BPF\n                - PERFMON\n", true},
		{kubelet, "SYS_RESOURCE", false}, /* opt-in: kernels < 5.11 only */
		{kubelet, "privileged: true", false},
		{priv, "privileged: true", true},
		{priv, "add:", false},
		{kubelet, "raplsim", false},
		{sim, "powercap_root: /var/run/wattlet-raplsim", true},
		{sim, "command: [raplsim]", true},
		{kubelet, "fieldPath: spec.nodeName", true},
		{kubelet, "path: /healthz", true},
		{kubelet, "path: /readyz", true},
		{kubelet, "helm.sh/hook: test", true},
		{kubelet, "kind: ServiceMonitor", false},
	})
	// No rule names secrets or configmaps, and no rule uses a wildcard.
	bad := regexp.MustCompile(`(?m)^\s*-?\s*(resources|verbs|apiGroups): \[[^\]]*(secrets|configmaps|"\*"|\*)`)
	for _, doc := range []string{kubelet, api, legacy} {
		if m := bad.FindString(doc); m != "" {
			t.Errorf("ClusterRole grants too much: %q", m)
		}
	}
	if !bad.MatchString("    resources: [pods, secrets]") {
		t.Fatal("the RBAC check cannot fail")
	}
}

func TestK8sManifestsMatchChart(t *testing.T) {
	helm := needHelm(t)
	root := repoRoot(t)
	want, err := os.ReadFile(filepath.Join(root, "k8s", "wattlet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := []byte(mustRun(t, nil, "env", "HELM="+helm, "k8s/render.sh", "--stdout"))
	if !bytes.Equal(got, want) {
		t.Fatal("k8s/wattlet.yaml is stale: run k8s/render.sh")
	}
}

func expectations(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exp []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "# expect: "); ok {
			exp = append(exp, strings.TrimSpace(s))
		}
	}
	if len(exp) == 0 {
		t.Fatalf("%s has no '# expect: ' line naming the rejected field", file)
	}
	return exp
}

func TestCRDsOnCluster(t *testing.T) {
	k := needCluster(t)
	root := repoRoot(t)

	mustRun(t, nil, k, "apply", "--server-side", "--force-conflicts", "-f", "crds/")
	for name := range wantCRDs {
		mustRun(t, nil, k, "wait", "--for", "condition=Established", "--timeout", "60s", "crd/"+name)
	}
	if _, err := run(t, nil, k, "get", "namespace", testNS); err != nil {
		mustRun(t, nil, k, "create", "namespace", testNS)
	}
	// hostPID and hostPath are outside the baseline Pod Security level.
	mustRun(t, nil, k, "label", "--overwrite", "namespace", testNS,
		"pod-security.kubernetes.io/enforce=privileged")
	// Pods (the helm test pod, even in a dry run) are refused until the
	// controller-manager has made the namespace's default service account.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := run(t, nil, k, "get", "serviceaccount", "default", "-n", testNS); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("namespace %s: no default service account: %v", testNS, err)
		}
	}
	t.Cleanup(func() {
		run(t, nil, k, "delete", "namespace", testNS, "--wait=false")
		run(t, nil, k, "delete", "-f", "k8s/examples/", "--ignore-not-found")
		run(t, nil, k, "delete", "nodeenergy", "crdtest-node", "--ignore-not-found")
		run(t, nil, k, "delete", "clusterrole,clusterrolebinding", "-l",
			"app.kubernetes.io/instance=crdtest", "--ignore-not-found")
	})

	t.Run("helm template | kubectl apply --dry-run=server", func(t *testing.T) {
		helm := needHelm(t)
		for _, set := range []string{"podSource=kubelet", "podSource=apiserver",
			"podSource=kubelet,kubelet.authorization=nodes/proxy", "networkPolicy.enabled=true",
			"simulatedRapl.enabled=true", "securityContext.privileged=true"} {
			out := helmTemplate(t, helm, "--set", set)
			mustRun(t, out, k, "apply", "--dry-run=server", "-f", "-")
		}
		// The plain manifests, moved into the test namespace (dry-run creates no
		// namespace for the objects that follow it).
		plain, err := os.ReadFile(filepath.Join(root, "k8s", "wattlet.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		plain = bytes.ReplaceAll(plain, []byte("wattlet-system"), []byte(testNS))
		mustRun(t, plain, k, "apply", "--dry-run=server", "-f", "-")
	})

	t.Run("bad examples rejected naming the field", func(t *testing.T) {
		bad, _ := filepath.Glob(filepath.Join(root, "k8s", "examples", "bad", "*.yaml"))
		if len(bad) < 5 {
			t.Fatalf("only %d files in k8s/examples/bad", len(bad))
		}
		for _, f := range bad {
			rel, _ := filepath.Rel(root, f)
			out, err := run(t, nil, k, "apply", "--dry-run=server", "-f", rel)
			if err == nil {
				t.Errorf("%s was accepted:\n%s", rel, out)
				continue
			}
			for _, e := range expectations(t, f) {
				if !strings.Contains(out, e) {
					t.Errorf("%s: rejection does not mention %q:\n%s", rel, e, out)
				}
			}
		}
	})

	t.Run("good examples accepted, defaults applied", func(t *testing.T) {
		good, _ := filepath.Glob(filepath.Join(root, "k8s", "examples", "*.yaml"))
		if len(good) < 3 {
			t.Fatalf("only %d files in k8s/examples", len(good))
		}
		for _, f := range good {
			rel, _ := filepath.Rel(root, f)
			mustRun(t, nil, k, "apply", "-f", rel)
		}
		minimal := []byte("apiVersion: wattlet.dev/v1alpha1\nkind: EnergyPolicy\n" +
			"metadata: {name: crdtest-defaults, namespace: " + testNS + "}\nspec: {}\n")
		mustRun(t, minimal, k, "apply", "-f", "-")
		got := mustRun(t, nil, k, "get", "enp", "-n", testNS, "crdtest-defaults", "-o",
			"jsonpath={.spec.idlePolicy} {.spec.updateInterval}")
		if got != "even 60s" {
			t.Errorf("EnergyPolicy defaults = %q, want \"even 60s\"", got)
		}
		got = mustRun(t, nil, k, "get", "pwm", "xeon-8480-ratio", "-o",
			"jsonpath={.spec.zones[1].source} {.spec.zones[1].feature} {.spec.priority}")
		if got != "measured cpu_time 10" {
			t.Errorf("PowerModel zone defaults = %q, want \"measured cpu_time 10\"", got)
		}
	})

	t.Run("PodEnergy status, printer columns, kubectl get energy, short names", func(t *testing.T) {
		pe := []byte(`apiVersion: wattlet.dev/v1alpha1
kind: PodEnergy
metadata: {name: crdtest-pod, namespace: ` + testNS + `}
spec: {podName: crdtest-pod, podUID: 6f3c0000-0000-4000-8000-000000000001, nodeName: crdtest-node}
---
apiVersion: wattlet.dev/v1alpha1
kind: NodeEnergy
metadata: {name: crdtest-node}
`)
		mustRun(t, pe, k, "apply", "-f", "-")
		status := `{"status":{"nodeName":"crdtest-node","model":"builtin-ratio","policy":"",` +
			`"lastMeasured":"2026-01-01T00:00:00Z","windowSeconds":60,"watts":4.25,"energySource":"measured",` +
			`"refreshIntervalSeconds":2040,"maxRefreshIntervalSeconds":2040,` +
			`"dynamicWatts":3.1,"idleWatts":1.15,"joules":1234.5,"co2eGrams":0.12,` +
			`"owner":{"kind":"Deployment","name":"crdtest"},` +
			`"display":{"power":"4.25 W","energy":"1.23 kJ","co2e":"120 mg","dynamicPower":"3.10 W","idlePower":"1.15 W","window":"1.00 min"},` +
			`"zones":[{"zone":"package","dynamicJoules":1000.1,"idleJoules":200.2,"dynamicWatts":3,"idleWatts":1}],` +
			`"containers":[{"name":"app","containerID":"containerd://abc","joules":1200.3,"watts":4.1}]}}`
		mustRun(t, nil, k, "patch", "pe", "crdtest-pod", "-n", testNS, "--subresource=status",
			"--type=merge", "-p", status)
		// A status the schema refuses, through the status subresource too.
		out, err := run(t, nil, k, "patch", "pe", "crdtest-pod", "-n", testNS,
			"--subresource=status", "--type=merge", "-p", `{"status":{"watts":-1}}`)
		// The status subresource names the path below .status.
		if err == nil || !strings.Contains(out, "watts: Invalid value: -1") {
			t.Errorf("negative status.watts accepted or not named: %v\n%s", err, out)
		}
		mustRun(t, nil, k, "patch", "ne", "crdtest-node", "--subresource=status", "--type=merge",
			"-p", `{"status":{"usageSource":"cgroup","energySource":"none","model":{"name":"builtin-ratio","attribution":"ratio"},"watts":0,"joules":0,"display":{"power":"0 W","energy":"0 J"},`+
				`"meters":[{"kind":"powercap","inUse":false,"reason":"/sys/class/powercap does not exist"}],`+
				`"writeErrors":{"failedWrites":2,"lastTime":"2026-01-01T00:00:00Z","lastResource":"podenergies","lastReason":"Forbidden","lastMessage":"HTTP 403: forbidden"},`+
				`"conditions":[{"type":"EnergySource","status":"False","reason":"NoMeter","message":"apply a PowerModel with estimated zones","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
		// a meter kind the CRD does not know (what the agent sent for "no meter", issue 19)
		out, err = run(t, nil, k, "patch", "ne", "crdtest-node", "--subresource=status", "--type=merge",
			"-p", `{"status":{"meters":[{"kind":"none","inUse":false}]}}`)
		if err == nil || !strings.Contains(out, "Unsupported value") {
			t.Errorf("meter kind none accepted or not named: %v\n%s", err, out)
		}

		table := mustRun(t, nil, k, "get", "podenergy", "-n", testNS, "crdtest-pod")
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if len(lines) != 2 {
			t.Fatalf("kubectl get podenergy:\n%s", table)
		}
		hdr := strings.Fields(lines[0])
		wantHdr := []string{"NAME", "NODE", "POWER", "ENERGY", "SOURCE", "CO2E", "MODEL", "AGE", "INTERVAL"}
		if strings.Join(hdr, " ") != strings.Join(wantHdr, " ") {
			t.Errorf("podenergy columns %v, want %v", hdr, wantHdr)
		}
		// cells hold spaces ("4.25 W"): columns are apart by two or more
		row := tableCells(lines[1])
		if len(row) != 9 || row[1] != "crdtest-node" || row[2] != "4.25 W" || row[3] != "1.23 kJ" ||
			row[4] != "measured" || row[5] != "120 mg" || row[6] != "builtin-ratio" || row[8] != "2040" {
			t.Errorf("podenergy row %q", row)
		}
		wpe := mustRun(t, nil, k, "get", "pe", "-n", testNS, "crdtest-pod", "-o", "wide")
		for _, w := range []string{"OWNER-KIND", "Deployment", "crdtest", "DYNAMIC", "3.10 W", "WINDOW", "1.00 min"} {
			if !strings.Contains(wpe, w) {
				t.Errorf("kubectl get podenergy -o wide lacks %q:\n%s", w, wpe)
			}
		}

		names := mustRun(t, nil, k, "get", "energy", "-A", "-o", "name")
		for _, w := range []string{"powermodel.wattlet.dev/xeon-8480-ratio",
			"energypolicy.wattlet.dev/default", "podenergy.wattlet.dev/crdtest-pod",
			"nodeenergy.wattlet.dev/crdtest-node"} {
			if !strings.Contains(names, w) {
				t.Errorf("kubectl get energy -A does not list %s:\n%s", w, names)
			}
		}
		for _, c := range [][]string{
			{"get", "pwm", "xeon-8480-ratio"},
			{"get", "enp", "-n", "default", "default"},
			{"get", "pe", "-n", testNS, "crdtest-pod"},
			{"get", "ne", "crdtest-node"},
		} {
			mustRun(t, nil, k, c...)
		}
		ne := mustRun(t, nil, k, "get", "ne", "crdtest-node")
		nl := strings.Split(strings.TrimSpace(ne), "\n")
		if len(nl) != 2 || strings.Join(strings.Fields(nl[0]), " ") != "NAME POWER ENERGY SOURCE REASON MODEL USAGE AGE" {
			t.Fatalf("kubectl get nodeenergy columns:\n%s", ne)
		}
		if f := tableCells(nl[1]); len(f) != 8 || f[1] != "0 W" || f[3] != "none" || f[4] != "NoMeter" || f[5] != "builtin-ratio" {
			t.Errorf("kubectl get nodeenergy row %q", f)
		}
		wide := mustRun(t, nil, k, "get", "ne", "crdtest-node", "-o", "wide")
		for _, w := range []string{"MESSAGE", "WRITE-ERROR", "apply a PowerModel with estimated zones", "Forbidden"} {
			if !strings.Contains(wide, w) {
				t.Errorf("kubectl get nodeenergy -o wide lacks %q:\n%s", w, wide)
			}
		}
	})

	t.Run("short names clash with no served resource", func(t *testing.T) {
		type resList struct {
			GroupVersion string `json:"groupVersion"`
			Resources    []struct {
				Name       string   `json:"name"`
				ShortNames []string `json:"shortNames"`
			} `json:"resources"`
		}
		paths := []string{"/api/v1"}
		var groups struct {
			Groups []struct {
				Name     string `json:"name"`
				Versions []struct {
					GroupVersion string `json:"groupVersion"`
				} `json:"versions"`
			} `json:"groups"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, nil, k, "get", "--raw", "/apis")), &groups); err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.Groups {
			if g.Name == "wattlet.dev" {
				continue
			}
			for _, v := range g.Versions {
				paths = append(paths, "/apis/"+v.GroupVersion)
			}
		}
		ours := map[string]bool{}
		for _, c := range wantCRDs {
			ours[c.short] = true
			ours[c.plural] = true
		}
		checked := 0
		for _, p := range paths {
			out, err := run(t, nil, k, "get", "--raw", p)
			if err != nil {
				continue // an aggregated API that is down is not our concern
			}
			var rl resList
			if err := json.Unmarshal([]byte(out), &rl); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for _, r := range rl.Resources {
				checked++
				for _, s := range append(r.ShortNames, r.Name) {
					if ours[s] {
						t.Errorf("%s %s has %q, which a wattlet.dev CRD also uses", rl.GroupVersion, r.Name, s)
					}
				}
			}
		}
		if checked < 40 {
			t.Errorf("discovery listed only %d resources", checked)
		}
	})

	t.Run("RBAC: what the agent may and may not do", func(t *testing.T) {
		helm := needHelm(t)
		// A service account nothing is bound to must be refused, or the cluster does
		// not authorize with RBAC and can-i answers prove nothing.
		nobody := "system:serviceaccount:" + testNS + ":crdtest-nobody"
		if out, _ := run(t, nil, k, "auth", "can-i", "--as", nobody, "get", "secrets", "-A"); strings.HasPrefix(strings.TrimSpace(out), "yes") {
			t.Skip("SKIP: the cluster lets an unbound service account read secrets: not RBAC-authorized, can-i checks would prove nothing")
		}
		for _, mode := range []string{"apiserver", "nodes/pods", "nodes/proxy"} {
			src, authz := "kubelet", mode
			if mode == "apiserver" {
				src, authz = "apiserver", "nodes/pods"
			}
			rbac := helmTemplate(t, helm, "--set", "podSource="+src, "--set", "kubelet.authorization="+authz,
				"--set", "fullnameOverride=crdtest-wattlet",
				"--show-only", "templates/clusterrole.yaml", "--show-only", "templates/serviceaccount.yaml")
			rbac = bytes.ReplaceAll(rbac, []byte("app.kubernetes.io/instance: wattlet"),
				[]byte("app.kubernetes.io/instance: crdtest"))
			mustRun(t, rbac, k, "apply", "-f", "-")
			sa := "system:serviceaccount:" + testNS + ":crdtest-wattlet"
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"get", "secrets", "-A"}, "no"},
				{[]string{"list", "configmaps", "-A"}, "no"},
				{[]string{"create", "podenergies.wattlet.dev", "-n", "default"}, "yes"},
				{[]string{"patch", "podenergies.wattlet.dev", "--subresource=status", "-n", "default"}, "yes"},
				{[]string{"update", "nodeenergies.wattlet.dev", "--subresource=status"}, "yes"},
				{[]string{"watch", "powermodels.wattlet.dev"}, "yes"},
				{[]string{"list", "energypolicies.wattlet.dev", "-A"}, "yes"},
				// idle of the hardware class: read by name and patch its status, never a list
				{[]string{"get", "nodeclassidles.wattlet.dev"}, "yes"},
				{[]string{"patch", "nodeclassidles.wattlet.dev", "--subresource=status"}, "yes"},
				{[]string{"list", "nodeclassidles.wattlet.dev"}, "no"},
				{[]string{"watch", "nodeclassidles.wattlet.dev"}, "no"},
				{[]string{"update", "energypolicies.wattlet.dev", "-n", "default"}, "no"},
				{[]string{"create", "events", "-n", "default"}, "yes"},
				{[]string{"get", "nodes"}, "yes"},
				// the agent's node watch (fieldSelector metadata.name=<node>) needs list+watch
				{[]string{"list", "nodes"}, "yes"},
				{[]string{"watch", "nodes"}, "yes"},
				{[]string{"patch", "nodes"}, "no"},
				{[]string{"get", "nodes", "--subresource=proxy"}, map[string]string{"apiserver": "no", "nodes/pods": "no", "nodes/proxy": "yes"}[mode]},
				{[]string{"get", "nodes", "--subresource=pods"}, map[string]string{"apiserver": "no", "nodes/pods": "yes", "nodes/proxy": "no"}[mode]},
				{[]string{"watch", "pods", "-A"}, map[string]string{"apiserver": "yes", "nodes/pods": "no", "nodes/proxy": "no"}[mode]},
				{[]string{"delete", "pods", "-A"}, "no"},
			} {
				args := append([]string{"auth", "can-i", "--as", sa}, c.args...)
				out, _ := run(t, nil, k, args...) // exit 1 means "no"
				if got := strings.TrimSpace(out); !strings.HasPrefix(got, c.want) {
					t.Errorf("%s: can-i %s = %q, want %s", mode, strings.Join(c.args, " "), got, c.want)
				}
			}
		}
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Getenv("KUBECONFIG") == "" {
		fmt.Fprintln(os.Stderr, "note: cluster tests skipped: KUBECONFIG is not set")
	}
	os.Exit(code)
}
