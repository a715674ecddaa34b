package server

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParseConfig feeds arbitrary YAML to ParseConfig. It checks that
//   - every error names the file;
//   - an accepted configuration validates, never opens the UI without a
//     login on a non-loopback address, and marshals back to YAML that
//     parses to the same configuration.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/serve.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("listen: 0.0.0.0:80\nui:\n  open: true\nspeeed: 2\n"))
	f.Add([]byte("listen: '[::1]:4566'\nui: {open: true}\ncredentials: [{accessKeyId: a, secretAccessKey: 12345678, accountId: '000000000000'}]\n"))
	f.Add([]byte("nats:\n  url: nats://127.0.0.1:4222, tls://127.0.0.1:4223\n"))
	f.Add([]byte("speed: .nan\nmaxBodyBytes: -1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "serve.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "serve.yaml:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		if cfg.UI.Open && !cfg.UI.Disabled {
			host, _, err := net.SplitHostPort(cfg.Listen)
			if err != nil || !isLoopback(host) {
				t.Fatalf("open UI on %q", cfg.Listen)
			}
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal accepted config: %v", err)
		}
		again, err := ParseConfig(out, "again.yaml")
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(cfg, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the config (-first +again):\n%s\n%s", diff, out)
		}
	})
}
