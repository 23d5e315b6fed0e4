// owner_test.go - pod owners and readable output on the real cluster (issue 16 items 3-5):
// a Deployment's pod, a StatefulSet's pod and a bare pod get owner Deployment/<name>,
// StatefulSet/<name> and Pod/<name> in their PodEnergy status.owner, on the agent's
// workload and pod series (owner_kind, owner_name) and in /api/v1/workloads; `kubectl get
// podenergy,nodeenergy -A` (and -o wide, and energypolicy, powermodel) shows no number with
// more than 4 significant digits; `wattlet top` inside the agent pod names
// namespace/pod/container and groups by owner.
package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var colSep = regexp.MustCompile(`\s{2,}`)

// tableCells splits a line of a kubectl table into its cells: columns are apart by two or
// more spaces, while a cell may hold one ("10.6 W").
func tableCells(line string) []string {
	return colSep.Split(strings.TrimSpace(line), -1)
}

// tableRows parses a kubectl table (one header line, then rows) by the header's column
// offsets, which kubectl aligns every cell to: blank cells and cells with spaces both
// survive. Each row maps a header name to its trimmed cell.
func tableRows(table string) []map[string]string {
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	type col struct {
		name       string
		start, end int
	}
	var cols []col
	hdr := lines[0]
	for _, loc := range regexp.MustCompile(`\S+`).FindAllStringIndex(hdr, -1) {
		if n := len(cols); n > 0 {
			cols[n-1].end = loc[0]
		}
		cols = append(cols, col{hdr[loc[0]:loc[1]], loc[0], -1})
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		r := map[string]string{}
		for _, c := range cols {
			if c.start >= len(l) {
				r[c.name] = ""
				continue
			}
			end := c.end
			if end < 0 || end > len(l) {
				end = len(l)
			}
			r[c.name] = strings.TrimSpace(l[c.start:end])
		}
		rows = append(rows, r)
	}
	return rows
}

// numCell matches a cell that is a number, maybe with a unit: "10.6 W", "0.00118",
// "2040", "45s" (an age), "1.00 min".
var numCell = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)( ?[A-Za-z/()]+)?$`)

// sigDigits counts the significant digits of a decimal number: leading zeros never
// count, trailing zeros of a whole number do not ("2040" -> 3, "1.00" -> 3, "0.0012" -> 2).
func sigDigits(num string) int {
	whole := !strings.Contains(num, ".")
	d := strings.TrimLeft(strings.ReplaceAll(num, ".", ""), "0")
	if whole {
		d = strings.TrimRight(d, "0")
	}
	return len(d)
}

// tooPrecise returns the cells of a kubectl table (headers excepted) that show a number
// with more than 4 significant digits.
func tooPrecise(table string) []string {
	var bad []string
	for _, l := range strings.Split(strings.TrimSpace(table), "\n") {
		if l == "" || strings.HasPrefix(l, "NAMESPACE") || strings.HasPrefix(l, "NAME ") {
			continue
		}
		for _, c := range tableCells(l) {
			if m := numCell.FindStringSubmatch(c); m != nil && sigDigits(m[1]) > 4 {
				bad = append(bad, c)
			}
		}
	}
	return bad
}

func TestSigDigits(t *testing.T) {
	for num, want := range map[string]int{"2040": 3, "1.00": 3, "0.0012": 2, "10.6186763344": 12,
		"0.00118096177778": 12, "26.622378": 8, "7": 1, "0": 0} {
		if got := sigDigits(num); got != want {
			t.Errorf("sigDigits(%s) = %d, want %d", num, got, want)
		}
	}
	old := "NAMESPACE   NAME   NODE               WATTS           JOULES      CO2E(G)\n" +
		"load-x      busy   wattlet-e2e-node   10.6186763344   26.622378   0.00118096177778\n"
	if bad := tooPrecise(old); len(bad) != 3 {
		t.Errorf("the issue's table: too precise %q, want its 3 numbers", bad)
	}
	now := "NAMESPACE   NAME   NODE               POWER    ENERGY    CO2E      AGE\n" +
		"load-x      busy   wattlet-e2e-node   10.6 W   26.6 kJ   1.18 mg   45s\n"
	if bad := tooPrecise(now); len(bad) != 0 {
		t.Errorf("readable table: too precise %q", bad)
	}
	// a blank cell (THROTTLED) and cells with a space, parsed by the header's offsets
	enp := "NAME     IDLE   INTERVAL   PODS   THROTTLED   ENERGY   CO2E      AGE\n" +
		"owners   even   10s        3                  11.0 J   1.23 mg   6s\n"
	r := tableRows(enp)
	if len(r) != 1 || r[0]["PODS"] != "3" || r[0]["THROTTLED"] != "" || r[0]["ENERGY"] != "11.0 J" ||
		r[0]["CO2E"] != "1.23 mg" || r[0]["AGE"] != "6s" {
		t.Errorf("tableRows: %q", r)
	}
}

func TestOwnersAndColumns(t *testing.T) {
	c := NeedCluster(t)
	// The chart installs CRDs only when absent (Helm never upgrades them): a CRD kept from
	// an older run would lack status.owner and status.display.
	c.Must(t, 60*time.Second, "apply", "--server-side", "--force-conflicts", "-f",
		filepath.Join(c.Root, "crds"))
	c.InstallAgent(t, "config.tick=1s")
	ns := c.Namespace(t, "owner")
	c.Apply(t, fmt.Sprintf(`apiVersion: wattlet.dev/v1alpha1
kind: EnergyPolicy
metadata: {name: owners, namespace: %s}
spec: {podSelector: {}, updateInterval: 10s, carbonIntensity: 400}
`, ns))
	c.Apply(t, appsWorkload("Deployment", "web", ns, 1, `
containers:
- {name: main, image: wattlet-e2e/stress:1, imagePullPolicy: Never,
   args: ["--cpu", "1", "--cpu-load", "30", "--timeout", "900s"],
   resources: {requests: {cpu: 100m, memory: 16Mi}}}
`))
	c.Apply(t, appsWorkload("StatefulSet", "db", ns, 1, `
containers:
- {name: main, image: wattlet-e2e/pause:1, imagePullPolicy: Never,
   resources: {requests: {cpu: 10m, memory: 16Mi}}}
`))
	c.Apply(t, onePod{Name: "bare", NS: ns, Image: "wattlet-e2e/pause:1", Args: "[]",
		Resources: "{requests: {cpu: 10m, memory: 16Mi}}"}.Manifest())
	for _, sel := range []string{"app=web", "app=db"} {
		if _, err := c.Run(t, 150*time.Second, "wait", "-n", ns, "--for=condition=Ready", "pod", "-l", sel, "--timeout=140s"); err != nil {
			desc, _ := c.Run(t, 20*time.Second, "describe", "pods", "-n", ns)
			t.Fatalf("pods %s not Ready: %v\n%s", sel, err, desc)
		}
	}
	c.Must(t, 150*time.Second, "wait", "-n", ns, "--for=condition=Ready", "pod/bare", "--timeout=140s")
	webPod := strings.TrimSpace(c.Must(t, 20*time.Second, "get", "pods", "-n", ns, "-l", "app=web",
		"-o", "jsonpath={.items[0].metadata.name}"))
	want := map[string]string{webPod: "Deployment/web", "db-0": "StatefulSet/db", "bare": "Pod/bare"}

	t.Run("podenergy-owner", func(t *testing.T) {
		Eventually(t, 120*time.Second, time.Second, "PodEnergy status.owner of web, db-0 and bare", func() (bool, string) {
			for pod, w := range want {
				out, err := c.Run(t, 20*time.Second, "get", "podenergy", "-n", ns, pod, "-o",
					"jsonpath={.status.owner.kind}/{.status.owner.name}|{.status.display.power}")
				if err != nil {
					return false, err.Error()
				}
				got := strings.SplitN(out, "|", 2)
				if got[0] != w || len(got) < 2 || got[1] == "" {
					return false, fmt.Sprintf("%s: owner|display.power %q, want owner %s", pod, out, w)
				}
			}
			return true, ""
		}, func() string {
			logs, _ := c.Run(t, 20*time.Second, "logs", "-n", AgentNamespace, "ds/"+AgentRelease, "--tail=40")
			return "agent log:\n" + logs
		})
	})

	base := c.AgentURL(t)
	t.Run("series-and-json", func(t *testing.T) {
		// every series of the web pod's container and of the pod carries the owner
		Eventually(t, 60*time.Second, time.Second, "owner labels on the web pod's series", func() (bool, string) {
			body, err := httpGet(base+"/metrics", 10*time.Second)
			if err != nil {
				return false, err.Error()
			}
			var wl, pl, without int
			for _, l := range strings.Split(string(body), "\n") {
				if !strings.Contains(l, `pod="`+webPod+`"`) || strings.HasPrefix(l, "#") {
					continue
				}
				has := strings.Contains(l, `owner_kind="Deployment",owner_name="web"`)
				switch {
				case !has:
					without++
				case strings.HasPrefix(l, "wattlet_workload_joules_total{"):
					wl++
				case strings.HasPrefix(l, "wattlet_pod_joules_total{"):
					pl++
				}
			}
			if wl == 0 || pl == 0 || without > 0 {
				return false, fmt.Sprintf("web pod: %d workload and %d pod joules series with the owner, %d series without", wl, pl, without)
			}
			for _, other := range []string{`pod="db-0",owner_kind="StatefulSet",owner_name="db"`, `pod="bare",owner_kind="Pod",owner_name="bare"`} {
				if !strings.Contains(string(body), other) {
					return false, "no series with " + other
				}
			}
			return true, ""
		}, nil)
		body, err := httpGet(base+"/api/v1/workloads", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Workloads []map[string]any `json:"workloads"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, w := range raw.Workloads {
			if w["pod"] == webPod && w["container"] == "main" {
				found = w["owner_kind"] == "Deployment" && w["owner_name"] == "web"
				if !found {
					t.Errorf("/api/v1/workloads: web container owner %v/%v", w["owner_kind"], w["owner_name"])
				}
			}
		}
		if !found {
			t.Errorf("/api/v1/workloads has no row for %s/main with owner Deployment/web", webPod)
		}
	})

	t.Run("kubectl-get-readable", func(t *testing.T) {
		Eventually(t, 60*time.Second, time.Second, "EnergyPolicy owners has a status", func() (bool, string) {
			out, err := c.Run(t, 20*time.Second, "get", "enp", "-n", ns, "owners", "-o", "jsonpath={.status.display.energy}")
			return err == nil && out != "", "status.display.energy " + out
		}, nil)
		for _, args := range [][]string{
			{"get", "podenergy,nodeenergy", "-A"},
			{"get", "podenergy,nodeenergy", "-A", "-o", "wide"},
			{"get", "energypolicy,powermodel", "-A", "-o", "wide"},
		} {
			out := c.Must(t, 20*time.Second, args...)
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
			if bad := tooPrecise(out); len(bad) > 0 {
				t.Errorf("kubectl %s: cells with more than 4 significant digits: %q", strings.Join(args, " "), bad)
			}
		}
		// the web pod's row: POWER and ENERGY with units, OWNER columns under -o wide
		wide := c.Must(t, 20*time.Second, "get", "podenergy", "-n", ns, webPod, "-o", "wide")
		lines := strings.Split(strings.TrimSpace(wide), "\n")
		if len(lines) != 2 {
			t.Fatalf("kubectl get podenergy %s -o wide:\n%s", webPod, wide)
		}
		cell := tableRows(wide)[0]
		row := lines[1]
		unit := regexp.MustCompile(`^[0-9.]+ (|n|u|m|k|M|G)(W|J|g)$`)
		for _, col := range []string{"POWER", "ENERGY", "CO2E", "DYNAMIC", "IDLE"} {
			if !unit.MatchString(cell[col]) {
				t.Errorf("column %s = %q, want a number and a unit (row %q)", col, cell[col], row)
			}
		}
		if cell["OWNER-KIND"] != "Deployment" || cell["OWNER"] != "web" {
			t.Errorf("OWNER-KIND/OWNER %q/%q, want Deployment/web (row %q)", cell["OWNER-KIND"], cell["OWNER"], row)
		}
	})

	t.Run("wattlet-top", func(t *testing.T) {
		top := func(args ...string) string {
			a := append([]string{"exec", "-n", AgentNamespace, "ds/" + AgentRelease, "-c", "wattlet", "--",
				"wattlet", "top", "--once", "-n", "200", "--url", "http://127.0.0.1:9102"}, args...)
			return c.Must(t, 30*time.Second, a...)
		}
		out := top()
		t.Logf("wattlet top:\n%s", out)
		if !strings.Contains(out, ns+"/"+webPod+"/main") {
			t.Errorf("wattlet top does not name %s/%s/main", ns, webPod)
		}
		out = top("--group-by", "owner")
		t.Logf("wattlet top --group-by owner:\n%s", out)
		for _, w := range []string{ns + "/Deployment/web", ns + "/StatefulSet/db", ns + "/Pod/bare"} {
			if !strings.Contains(out, w) {
				t.Errorf("wattlet top --group-by owner lacks %s", w)
			}
		}
		out = top("--group-by", "namespace")
		if !regexp.MustCompile(`(?m) ` + regexp.QuoteMeta(ns) + `$`).MatchString(out) {
			t.Errorf("wattlet top --group-by namespace has no row %s:\n%s", ns, out)
		}
	})
}
