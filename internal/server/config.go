// Package server is `vpcflow serve`: the simulator running continuously (in
// real time or accelerated), the aggregator and delivery, alarms, the
// AWS-compatible APIs and the web UI, in one process with graceful shutdown.
package server

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"

	"vpcflow/internal/alarm"
	"vpcflow/internal/sigv4"
	"vpcflow/internal/yamlerr"
)

// Config is the serve configuration file. Every field has a default.
type Config struct {
	// Listen is the address of the single port serving the APIs, the UI,
	// /healthz and /metrics.
	Listen string `yaml:"listen"`
	// DataDir holds everything: S3 buckets, the log store, flow logs.
	DataDir string `yaml:"data"`
	// Topology and Scenario are files; empty means the bundled three-tier
	// VPC and its scenario.
	Topology string `yaml:"topology"`
	Scenario string `yaml:"scenario"`
	// Speed paces simulated time: 1 is real time, 60 runs a minute of
	// traffic per second. 0 means 1.
	Speed float64 `yaml:"speed"`
	// Credentials are the access keys the APIs accept. Empty: a random key
	// is made at start and printed once.
	Credentials []Credential `yaml:"credentials"`
	// Alarms is an alarm configuration file (metric filters, alarms,
	// topics). Empty with the bundled scenario: the bundled alarms
	// (alarms.yaml: SSH/RDP brute force, DNS amplification, reject surge)
	// notifying <data>/alarm-notifications.jsonl. "none" turns alarms off.
	Alarms string `yaml:"alarms"`
	// MaxBodyBytes bounds API request bodies.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// UI configures the browser UI.
	UI UIConfig `yaml:"ui"`
	// SQLThreads caps DuckDB's threads for the SQL console (0: default).
	SQLThreads int `yaml:"sqlThreads"`
	// NATS is where kinesis-data-firehose flow logs publish (JetStream):
	// nats.url for an external server, or nats.embedded: true (with
	// nats.port) to start one in this process. Unset: no firehose flow
	// logs.
	NATS NATSConfig `yaml:"nats"`
}

// Credential is one access key.
type Credential struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	AccountID       string `yaml:"accountId"` // default: the topology's account
}

// UIConfig configures the web UI.
type UIConfig struct {
	// Disabled turns the UI off.
	Disabled bool `yaml:"disabled"`
	// Open serves the UI without a login. It is refused unless Listen is a
	// loopback address; otherwise the UI asks for an access key id and its
	// secret (HTTP basic authentication).
	Open bool `yaml:"open"`
}

// DefaultConfig serves on loopback with the bundled VPC in real time.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:4566", DataDir: "vpcflow-data", Speed: 1, MaxBodyBytes: 1 << 20, UI: UIConfig{Open: true}}
}

// LoadConfig reads a YAML config file over the defaults (see ParseConfig);
// "" is the defaults.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), err
	}
	return ParseConfig(b, path)
}

// ParseConfig decodes a YAML config over the defaults and validates it.
// Unknown keys are errors with their line and column; every error starts
// with name, the file name.
func ParseConfig(data []byte, name string) (cfg Config, err error) {
	cfg = DefaultConfig()
	if err := yamlerr.Decode(data, name, &cfg, nil); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// Validate reports what is wrong with the configuration.
func (c *Config) Validate() error {
	var errs []error
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen %q: want host:port", c.Listen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data: a directory is required"))
	}
	if c.Speed < 0 || math.IsNaN(c.Speed) || math.IsInf(c.Speed, 0) {
		errs = append(errs, fmt.Errorf("speed %v: want a finite number, 0 or more", c.Speed))
	}
	if c.UI.Open && err == nil && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("ui.open: refusing an open UI on %s, which is not a loopback address; set ui.open: false to require a login", c.Listen))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("maxBodyBytes %d: want 0 (the 1 MiB default) or more", c.MaxBodyBytes))
	}
	if c.SQLThreads < 0 {
		errs = append(errs, fmt.Errorf("sqlThreads %d: want 0 (DuckDB's default) or more", c.SQLThreads))
	}
	errs = append(errs, c.NATS.validate()...)
	for i, k := range c.Credentials {
		if k.AccessKeyID == "" || len(k.SecretAccessKey) < 8 {
			errs = append(errs, fmt.Errorf("credentials[%d]: accessKeyId and a secretAccessKey of at least 8 characters are required", i))
		}
		if k.AccountID != "" && (len(k.AccountID) != 12 || strings.Trim(k.AccountID, "0123456789") != "") {
			errs = append(errs, fmt.Errorf("credentials[%d]: accountId %q must be 12 digits", i, k.AccountID))
		}
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials returns the configured keys with the default account filled
// in, or one random key when none is configured (generated says so).
func (c *Config) credentials(account string) (creds []sigv4.Credential, generated bool) {
	for _, k := range c.Credentials {
		acct := k.AccountID
		if acct == "" {
			acct = account
		}
		creds = append(creds, sigv4.Credential{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, AccountID: acct})
	}
	if len(creds) > 0 {
		return creds, false
	}
	var id, secret [16]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	return []sigv4.Credential{{AccessKeyID: "AKIA" + strings.ToUpper(hex.EncodeToString(id[:8])),
		SecretAccessKey: hex.EncodeToString(secret[:]), AccountID: account}}, true
}

//go:embed alarms.yaml
var bundledAlarms []byte

// alarmConfig is the alarm configuration to run, if any.
func (c Config) alarmConfig() (alarm.Config, bool, error) {
	switch {
	case c.Alarms == "none":
		return alarm.Config{}, false, nil
	case c.Alarms != "":
		acfg, err := alarm.LoadConfig(c.Alarms)
		return acfg, err == nil, err
	case c.Scenario != "" || c.Topology != "":
		// The bundled filters know the bundled flow logs' format only.
		return alarm.Config{}, false, nil
	}
	acfg, err := alarm.ParseConfig(bundledAlarms)
	if err != nil {
		return alarm.Config{}, false, fmt.Errorf("bundled alarms: %w", err)
	}
	for i := range acfg.Topics {
		for j := range acfg.Topics[i].Subscriptions {
			if s := &acfg.Topics[i].Subscriptions[j]; s.Protocol == "file" && !filepath.IsAbs(s.Endpoint) {
				s.Endpoint = filepath.Join(c.DataDir, s.Endpoint)
			}
		}
	}
	return acfg, true, nil
}

// speed is Speed with its default.
func (c Config) speed() float64 {
	if c.Speed <= 0 {
		return 1
	}
	return c.Speed
}
