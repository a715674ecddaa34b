package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's Chromium; the test is skipped without it unless
// VPCFLOW_INTEGRATION=1 (CI installs it with scripts/install-tools.sh).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VPCFLOW_INTEGRATION") == "1" {
		t.Fatal("chromium not installed (scripts/install-tools.sh installs it)")
	}
	t.Skip("chromium not installed")
	return ""
}

// consoleProblem matches what Chromium logs for uncaught script errors and
// for resources the page's Content-Security-Policy refused.
var consoleProblem = regexp.MustCompile(`(?i)CONSOLE.*(Uncaught|Refused to|Failed to load|is not defined|SyntaxError)`)

// TestBrowser loads every page in headless Chromium, keeps a screenshot of
// each (go test -artifacts keeps them under -outputdir) and fails on any
// script error or CSP violation.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	ts := newUI(t)
	shots := t.ArtifactDir()
	pages := map[string]string{
		"dashboard": "/ui/",
		"flows":     "/ui/flows?action=REJECT",
		"explain":   "/ui/flows/explain?eni=eni-0aaa&src=203.0.113.12&dst=10.0.1.10&sport=40000&dport=22&proto=6&action=REJECT",
		"query":     "/ui/query",
		"topology":  "/ui/topology",
	}
	for name, path := range pages {
		t.Run(name, func(t *testing.T) {
			png := filepath.Join(shots, name+".png")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
				"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1366,1100",
				"--virtual-time-budget=3000"}
			out, err := exec.CommandContext(ctx, bin, append(args, "--screenshot="+png, ts.URL+path)...).CombinedOutput()
			if err != nil {
				t.Fatalf("chromium: %v\n%s", err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if consoleProblem.MatchString(line) {
					t.Errorf("browser console: %s", line)
				}
			}
			fi, err := os.Stat(png)
			if err != nil || fi.Size() < 10_000 {
				t.Errorf("screenshot %s missing or empty: %v", png, err)
			}
			dom, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", ts.URL+path)...).Output()
			if err != nil {
				t.Fatalf("chromium --dump-dom: %v", err)
			}
			if !strings.Contains(string(dom), "<header>") || strings.Contains(string(dom), `class="error"`) && name != "explain" {
				t.Errorf("%s: rendered DOM lacks the page or shows an error", name)
			}
		})
	}
}
