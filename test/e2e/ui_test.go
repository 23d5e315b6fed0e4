package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUIPortForward is the agent's /ui page as a user reaches it: installed by the chart,
// through `kubectl port-forward` (a real tunnel through the API server and kubelet): the
// page loads, its WebSocket opens through the same tunnel and pushes a frame every tick
// whose tick number advances and whose node is this cluster's node. (The page itself in
// Chromium is test/integration/it_ui.sh.)
func TestUIPortForward(t *testing.T) {
	c := NeedCluster(t)
	c.InstallAgent(t, "config.tick=1s")
	c.AgentURL(t) // a Ready agent pod
	pod := strings.TrimSpace(c.Must(t, 20*time.Second, "get", "pods", "-n", AgentNamespace,
		"-l", "app.kubernetes.io/name=wattlet", "--field-selector=status.phase=Running",
		"-o", "jsonpath={.items[0].metadata.name}"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pf := exec.Command(c.Kubectl, "--kubeconfig", c.Kubeconfig, "port-forward", "-n",
		AgentNamespace, "pod/"+pod, fmt.Sprintf("%d:9102", port))
	pfLog := filepath.Join(t.TempDir(), "port-forward.log")
	lf, err := os.Create(pfLog)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	pf.Stdout, pf.Stderr = lf, lf // a file: no goroutine copies while we read it
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Process.Kill(); pf.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var page []byte
	Eventually(t, 60*time.Second, time.Second, "/ui through kubectl port-forward", func() (bool, string) {
		page, err = httpGet(base+"/ui", 5*time.Second)
		return err == nil, fmt.Sprint(err)
	}, func() string { b, _ := os.ReadFile(pfLog); return "kubectl port-forward: " + string(b) })
	if !strings.Contains(string(page), "wattlet-ui.v1") || !strings.HasPrefix(string(page), "<!doctype html>") {
		t.Fatalf("/ui is not the page: %.200s", page)
	}

	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET /ui/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: wattlet-ui.v1\r\n\r\n", port, base64.StdEncoding.EncodeToString(key))
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 101 ") {
		t.Fatalf("WebSocket handshake through port-forward: %q %v", status, err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	type frame struct {
		Type string `json:"type"`
		Tick uint64 `json:"tick"`
		Node struct {
			Name  string  `json:"name"`
			Watts float64 `json:"watts"`
			Zones []struct {
				Zone    string  `json:"zone"`
				Idle    float64 `json:"idle"`
				Dynamic float64 `json:"dynamic"`
			} `json:"zones"`
		} `json:"node"`
		Workloads []struct {
			Workload string  `json:"workload"`
			Watts    float64 `json:"watts"`
		} `json:"workloads"`
	}
	read := func() frame {
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("frame: %v", err)
		}
		if hdr[0]&0x0f != 1 {
			t.Fatalf("frame opcode %d, want a text frame", hdr[0]&0x0f)
		}
		n := uint64(hdr[1] & 0x7f)
		if n == 126 {
			var b [2]byte
			io.ReadFull(r, b[:])
			n = uint64(binary.BigEndian.Uint16(b[:]))
		} else if n == 127 {
			var b [8]byte
			io.ReadFull(r, b[:])
			n = binary.BigEndian.Uint64(b[:])
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		var f frame
		if err := json.Unmarshal(buf, &f); err != nil {
			t.Fatalf("frame is not JSON: %v: %.200s", err, buf)
		}
		return f
	}
	f1 := read()
	f2 := read()
	t.Logf("frames through port-forward: tick %d then %d, node %s %.2f W, %d zones, %d workloads",
		f1.Tick, f2.Tick, f2.Node.Name, f2.Node.Watts, len(f2.Node.Zones), len(f2.Workloads))
	if f1.Type != "tick" || f2.Tick <= f1.Tick {
		t.Fatalf("frames do not advance: %+v then %+v", f1.Tick, f2.Tick)
	}
	if f2.Node.Name != c.Node || len(f2.Node.Zones) == 0 || f2.Node.Watts <= 0 || len(f2.Workloads) == 0 {
		t.Fatalf("frame lacks the node's data: %+v", f2)
	}
}
